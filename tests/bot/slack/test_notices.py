"""What each event says in Slack, with everything an agent wrote escaped."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from bot.outbox import events
from bot.slack import notices
from bot.slack.escalation_view import EscalationView

VIEW = EscalationView(
    public_id="esc_" + "a" * 20,
    kind="approval",
    status="pending",
    title="Refund <!channel> <http://evil|bank>",
    summary="",
    agent="refund-bot",
    owner="U0OWNER01",
    amount=Decimal("1250"),
    currency="USD",
    deadline=datetime(2026, 12, 2, 9, 0, tzinfo=UTC),
)


def test_a_withdrawal_reason_cannot_ping_the_channel() -> None:
    text = notices.thread_reply(events.Withdrawn(reason="<!channel> go", voters=["U0TECH001"]), VIEW)
    assert text == (
        ":leftwards_arrow_with_hook: Withdrawn by the agent: &lt;!channel&gt; go."
        " Thanks <@U0TECH001> — no further vote is needed."
    )


def test_a_reminder_names_the_escalation_and_its_current_deadline_escaped() -> None:
    text = notices.direct_message(events.Reminder(user="U0TECH001"), VIEW)
    assert text == (
        f"Reminder: your vote is needed on `{VIEW.public_id}` "
        "*Refund &lt;!channel&gt; &lt;http://evil|bank&gt;* before 2026-12-02 09:00 UTC."
    )


def test_an_amendment_names_the_fields_and_who_must_vote_again() -> None:
    event = events.Amended(version=3, fields=["title", "action"], voided=["U0TECH001", "U0FIN0001"])
    assert notices.thread_reply(event, VIEW) == (
        ":pencil2: The agent amended this escalation (version 3): title, action. "
        "Votes voided — <@U0TECH001>, <@U0FIN0001>, please vote again."
    )


def test_an_escalation_past_its_deadline_says_when_it_now_closes() -> None:
    event = events.Extended(deadline=datetime(2026, 12, 3, 9, 30, tzinfo=UTC), escalated=False)
    assert notices.thread_reply(event, VIEW) == (
        ":hourglass: No decision by the deadline. Extended once, to 2026-12-03 09:30 UTC."
    )
