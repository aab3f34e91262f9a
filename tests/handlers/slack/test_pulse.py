"""The weekly pulse and `/council me` end to end: the DM as Slack shows it, a signed click, the answer."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from typing import Any
from urllib.parse import parse_qs

from bot.app_keys import RUNTIME
from bot.governance.calendar import Week
from bot.services import people, pulse
from bot.slack import ids
from models import AuditEvent, Council, OutboxItem, PulseAnswer
from tests.fakeslack.records import Message
from tests.handlers.slack.test_home_and_commands import command, mrkdwn
from tests.harness import Harness

MEMBER = "U0TECH001"


async def _work_now(user: str) -> None:
    """Give `user` hours around the present moment (UTC, as the fake's users.info says), whatever the hour."""
    now = datetime.now(UTC)
    start = (now - timedelta(hours=1)).replace(minute=now.minute // 15 * 15, second=0, microsecond=0)
    await people.set_hours(user, f"{start:%H:%M}-{start + timedelta(hours=6):%H:%M}")


async def _asked(council: Harness, user: str) -> tuple[Message, str]:
    """Ask this week's pulse and return the DM `user` got, and the week it is for."""
    rt = council.app[RUNTIME]
    week = Week.of(datetime.now(UTC), "Europe/Berlin")
    await _work_now(user)
    # Set up long ago: a council set up after this week's asking time (as one made "now" is, from
    # Friday afternoon on) is first asked the week after.
    await Council.all().update(created_at=datetime(2025, 1, 1, tzinfo=UTC))
    # Asked as of this week's Friday afternoon (in Berlin), though the week may be younger. From
    # then on the scheduler asks it at start too, maybe before the hours above were set: that DM
    # may be waiting for the default hours, so it is brought forward.
    await pulse.ask_due(rt, now=max(datetime.now(UTC), week.at(4, time(14))))
    await OutboxItem.filter(kind="pulse.asked", status="pending").update(next_attempt_at=datetime.now(UTC))
    rt.after_commit()
    [dm] = await council.fake.wait_for(lambda: council.fake.dms(user), timeout=10)
    return dm, week.name


async def _click(
    council: Harness, user: str, dm: Message, score: int, value: str | None = None
) -> dict[str, Any]:
    """Click a score in the DM, signed as Slack signs it; return what Council answered on the response_url."""
    body = council.fake.block_action_body(
        user, ids.PULSE_ANSWERS[score - 1], value, channel_id=dm.channel, message_ts=dm.ts
    )
    response_id = json.loads(parse_qs(body)["payload"][0])["response_url"].rsplit("/", 1)[1]
    response = await council.slack(body)
    assert response.status == 200
    [answer] = await council.fake.wait_for(
        lambda: [r for r in council.fake.responses if r.response_id == response_id]
    )
    return dict(answer.body)


def _buttons(blocks: list[dict[str, Any]]) -> list[tuple[str, str, str | None]]:
    [actions] = [b for b in blocks if b["type"] == "actions"]
    return [(e["text"]["text"], e["action_id"], e.get("style")) for e in actions["elements"]]


async def test_a_member_answers_the_pulse_dm_and_sees_their_answer_with_the_buttons_kept(
    council: Harness,
) -> None:
    dm, week = await _asked(council, MEMBER)
    shown = council.fake.rendered_text(dm)
    assert "How sustainable was your council load this week?" in shown
    assert f"ai-council*, week {week}: 1 is not sustainable, 5 is very sustainable" in shown
    assert "never who said what" in shown
    assert [label for label, _, _ in _buttons(dm.blocks)] == [
        "1 · not sustainable",
        "2",
        "3",
        "4",
        "5 · very sustainable",
    ]

    answered = await _click(council, MEMBER, dm, 4)
    assert answered["replace_original"] is True
    line = f"You answered *4* for *ai-council*, week {week} — you can change it until Sunday."
    assert answered["text"] == line and line in mrkdwn(answered["blocks"])
    assert [style for _, _, style in _buttons(answered["blocks"])] == [None, None, None, "primary", None]
    assert await PulseAnswer.filter(user_id=MEMBER).values_list("week", "score") == [(week, 4)]

    changed = await _click(council, MEMBER, dm, 2)
    assert changed["text"].startswith("You answered *2* for *ai-council*")
    assert await PulseAnswer.filter(user_id=MEMBER).values_list("score", flat=True) == [2]
    audited = await AuditEvent.filter(action="pulse.answered").values_list("payload", flat=True)
    assert audited == [{"council": "ai-council", "week": week}] * 2


async def test_a_click_on_last_weeks_dm_gets_a_clear_private_answer(council: Harness) -> None:
    dm, week = await _asked(council, MEMBER)
    last_week = Week.parse(week, "Europe/Berlin").previous().name
    old = ids.pulse_value("ai-council", last_week, 3)
    answered = await _click(council, MEMBER, dm, 3, value=old)
    assert answered["response_type"] == "ephemeral" and answered["replace_original"] is False
    assert answered["text"].startswith(
        f"The pulse for {last_week} closed on Sunday; only this week's ({week})"
    )
    assert not await PulseAnswer.exists()


async def test_someone_off_the_council_cannot_answer_its_pulse(council: Harness) -> None:
    dm, week = await _asked(council, MEMBER)
    answered = await _click(council, "U0OWNER01", dm, 5, value=ids.pulse_value("ai-council", week, 5))
    assert (
        answered["text"] == "You are not an active member of ai-council, so its pulse is not yours to answer."
    )
    forged = await _click(council, MEMBER, dm, 5, value="<!channel>")
    assert forged["text"] == "That button is not one of Council's pulse answers."
    assert not await PulseAnswer.exists()


async def test_council_me_shows_and_sets_your_hours_and_explains_a_mistake(council: Harness) -> None:
    shown = await command(council, "me", user=MEMBER)
    assert shown.startswith("Your working hours: *09:00–18:00* (the default), in *UTC* until Council reads")
    assert "`/council me hours=08:00-16:00`" in shown
    await people.remember_timezone(MEMBER, "Europe/Berlin", now=datetime.now(UTC))
    assert await command(council, "me hours=08:00-16:00", user=MEMBER) == (
        "Your working hours are now *08:00–16:00*, in *Europe/Berlin* (from your Slack profile).\n"
        "Reminders and the weekly pulse wait for your working hours, unless a deadline is less than an "
        "hour away."
    )
    refused = await command(council, "me hours=8am-4pm", user=MEMBER)
    assert refused.startswith("`8am` is not a time; write the start as HH:MM, 24-hour")
    refused = await command(council, "me hours=08:20-16:00", user="U0SOMEONE")  # anyone may, members or not
    assert refused.startswith("Working hours go by quarter hours, and `08:20` is not on one")
    assert (await command(council, "me sometime", user=MEMBER)).startswith("Use `/council me`")
    assert "*08:00–16:00* (your own)" in await command(council, "me", user=MEMBER)
