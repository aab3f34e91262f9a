"""Every event the services can write has a deliverer, a lane, and reads back as itself."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from bot.outbox import events, slack_effects
from bot.outbox.worker import DELIVER, LANES
from bot.slack import notices

SAMPLES: list[events.Event] = [
    events.Opened(),
    events.TallyChanged(),
    events.ExecutionReported(),
    events.Decided(),
    events.Amended(version=2, fields=["title"], voided=["U0TECH001"]),
    events.Withdrawn(reason="no longer needed", voters=["U0TECH001"]),
    events.Extended(deadline=datetime(2026, 12, 2, 9, 0, tzinfo=UTC), escalated=True),
    events.EscalatedToYou(user="U0PEOPLE1", deadline=datetime(2026, 12, 2, 9, 0, tzinfo=UTC)),
    events.Reminder(user="U0TECH001"),
    events.IncidentOwned(user="U0TECH001"),
    events.IncidentResolved(user="U0TECH001", notes="rolled back"),
    events.IncidentUnowned(told=["U0PEOPLE1"]),
    events.IncidentUnownedAlert(user="U0PEOPLE1"),
    events.Breach(agent="refund-bot", summary="over", incident="esc_" + "0" * 20),
    events.AgentPaused(user="U0OWNER01", agent="refund-bot", summary="over", escalation="e", incident="i"),
    events.StormOpened(storm=1),
    events.StormChanged(storm=1),
    events.StormAutoPaused(user="U0OWNER01", storm=1),
    events.StormEscalated(user="U0PEOPLE1", storm=1, deadline=datetime(2026, 12, 2, tzinfo=UTC)),
    events.PulseAsked(user="U0TECH001", council="ai-council", week="2026-W49"),
    events.AdminChanged(channel="C0COUNCIL", actor="U0ADMIN01", action="agent.paused", subject="refund-bot"),
    events.DecisionLogAsked(user="U0ADMIN01", since=date(2026, 12, 1)),
    events.DigestReady(
        council="ai-council", channel="C0COUNCIL", week="2026-W48", digest={"council": "ai-council"}
    ),
    events.AgentCallback(url="https://agent.example/cb", body={"id": "evt_1"}),
]


def test_the_samples_cover_every_event_type() -> None:
    assert {type(sample) for sample in SAMPLES} == set(events.EVENT_TYPES)


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: e.type)  # type: ignore[attr-defined]
def test_an_event_reads_back_as_itself_and_has_a_deliverer(event: events.Event) -> None:
    stored = event.model_dump(mode="json", exclude={"type"})
    assert events.read(event.type, stored) == event  # type: ignore[attr-defined]
    assert type(event) in DELIVER
    assert event.type in LANES[event.lane].kinds  # type: ignore[attr-defined]


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: e.type)  # type: ignore[attr-defined]
def test_what_slack_is_told_has_words_for_each_event(event: events.Event) -> None:
    deliver = DELIVER[type(event)]
    if deliver in (slack_effects.direct_message, slack_effects.remind):
        assert type(event) in notices.DIRECT
    elif deliver in (slack_effects.reply, slack_effects.refresh_and_reply):
        assert type(event) in notices.THREAD or isinstance(event, events.Decided)


def test_a_row_that_is_not_an_event_is_refused_not_guessed() -> None:
    with pytest.raises(ValidationError):
        events.read("slack.dm", {"user": "U0TECH001", "text": "from an older version"})
    with pytest.raises(ValidationError):
        events.read("escalation.reminder", {"user": "U0TECH001", "extra": 1})
