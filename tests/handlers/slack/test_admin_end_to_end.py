"""Running the council from Slack end to end: signed /council requests to the real app, what the fake
Slack then holds (the private answer, the line in the channel), and what an agent's key does after."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from bot.outbox import admin_effects
from bot.settings import Settings
from bot.slack import ids
from models import Member
from tests.handlers.slack.test_home_and_commands import command
from tests.harness import Harness
from tests.logged import council_logs

ADMIN = "U0ADMIN01"


async def _channel_lines(council: Harness, count: int) -> list[str]:
    """The channel's messages other than escalations, once there are `count` of them."""

    def lines() -> list[str]:
        posted = council.fake.messages("C0COUNCIL")
        found = [
            m.text for m in posted if (m.metadata or {}).get("event_type") == admin_effects.METADATA_EVENT
        ]
        return found if len(found) >= count else []

    return list(await council.fake.wait_for(lines))


async def test_a_seat_added_from_slack_is_said_once_in_the_channel(council: Harness) -> None:
    answer = await command(council, "members add <@U0LEGAL01|lea> function=legal", user=ADMIN)
    assert answer.startswith("Seated <@U0LEGAL01> on *ai-council* — legal, member.")
    assert (await Member.get(user_id="U0LEGAL01")).active
    assert await _channel_lines(council, 1) == ["<@U0ADMIN01> added <@U0LEGAL01>: legal, member"]
    # The next escalation asks the new member too.
    status, body = await council.escalate()
    assert status == 201
    escalation = await council.posted(str(body["id"]))
    assert "U0LEGAL01" in [seat["user"] for seat in escalation.electorate]
    assert len(await _channel_lines(council, 1)) == 1


async def test_a_refusal_names_who_can_and_nothing_reaches_the_channel(council: Harness) -> None:
    answer = await command(council, "agent pause refund-bot", user="U0TECH001")
    assert answer == "Only Council admins (<@U0ADMIN01>) or a chair of ai-council (<@U0PEOPLE1>) can do that."
    assert council.fake.messages("C0COUNCIL") == []


@pytest.fixture
def debug_logs(settings: Settings) -> Iterator[io.StringIO]:
    """Council's own logging at LOG_LEVEL=DEBUG as `council serve` sets it up, its stream read here."""
    with council_logs("DEBUG", settings.log_format) as stream:
        yield stream


async def test_keys_reach_only_the_admin_never_a_channel_or_a_debug_log(
    council: Harness, debug_logs: io.StringIO
) -> None:
    answer = await command(council, "agent create ops-bot owner=<@U0OWNER02> council=ai-council", user=ADMIN)
    key = answer.split("API key: `", 1)[1].split("`", 1)[0]
    secret = answer.split("Callback signing secret: `", 1)[1].split("`", 1)[0]
    rotated = await command(council, "agent rotate ops-bot", user=ADMIN)
    new_key = rotated.split("API key: `", 1)[1].split("`", 1)[0]
    assert await _channel_lines(council, 2) == [
        "<@U0ADMIN01> created agent *ops-bot*",
        _rotated_line(await _channel_lines(council, 2)),
    ]
    # Both keys work (the old one for 24 hours more), as the agent would send them.
    for each in (key, new_key):
        status, _ = await council.escalate(headers=council.auth(each))
        assert status == 201
    logged = debug_logs.getvalue()
    assert "Sending a request" in logged  # slack_sdk did log the answers' bodies at DEBUG
    assert "ck_[redacted]" in logged
    everything_posted = str([m.text for m in council.fake.messages("C0COUNCIL")]) + str(council.fake.calls)
    for secret_text in (key, secret, new_key):
        assert secret_text not in logged and secret_text not in everything_posted


def _rotated_line(lines: list[str]) -> str:
    line = lines[1]
    assert line.startswith("<@U0ADMIN01> rotated the keys of *ops-bot*: the old key works until ")
    return line


# Every subcommand through the real app: (who, what they type, how the private answer starts).
EVERY_SUBCOMMAND = [
    ("U0TECH001", "help", "*Council* — `/council <command>`"),
    ("U0TECH001", "stauts", "I don't know `stauts`. Did you mean `status`?"),
    ("U0TECH001", "status", "Nothing is waiting for the council."),
    ("U0TECH001", "members", "*ai-council* (<#C0COUNCIL>) — 3 active"),
    (
        "U0TECH001",
        "members add <@U0LEGAL01|lea> function=legal",
        "Only Council admins (<@U0ADMIN01>) or a chair",
    ),
    (ADMIN, "members add <@U0LEGAL01|lea> function=legal", "Seated <@U0LEGAL01> on *ai-council*"),
    (ADMIN, "members add <@U0LEGAL01|lea>", "Use `/council members add @user function=FUNCTION"),
    (ADMIN, "members away <@U0LEGAL01> until=2099-01-31 delegate=<@U0DEPUTY1|dee>", "<@U0LEGAL01> is away"),
    (ADMIN, "members back <@U0LEGAL01>", "<@U0LEGAL01> is back on *ai-council*"),
    ("U0PEOPLE1", "members remove <@U0LEGAL01>", "Removed <@U0LEGAL01> from *ai-council*"),
    ("U0TECH001", "agents", "• *refund-bot* — owner <@U0OWNER01>, active"),
    ("U0TECH001", "agent list", "• *refund-bot* — owner <@U0OWNER01>, active"),
    (ADMIN, "agent creat ops-bot", "Use `/council agent list`"),
    (ADMIN, "agent create ops-bot owner=<@U0OWNER02>", "Created agent *ops-bot*."),
    (ADMIN, "agent rotate ops-bot", "New credentials for *ops-bot*. The old key and signing secret keep"),
    (ADMIN, 'agent pause ops-bot reason="looks wrong"', "Agent *ops-bot* is now paused."),
    (ADMIN, "agent resume ops-bot", "Agent *ops-bot* is now active."),
    (ADMIN, "agent limits ops-bot rate_per_minute=30", "Limits of *ops-bot* now:"),
    ("U0TECH001", "agent limits ops-bot rate_per_minute=1", "Only Council admins can do that: <@U0ADMIN01>."),
    ("U0TECH001", "policies", "Policies, first match wins:"),
    ("U0TECH001", "decisions agent=refund-bot", "No decisions match"),
    ("U0TECH001", "decisions since=yesterday", "`since=yesterday` is not a date"),
    ("U0TECH001", "export decisions", "Only Council admins"),
    (ADMIN, "export decisions since=2026-01-01", "The decision log"),
    (ADMIN, "outbox", "Outbox: *"),
    (ADMIN, "outbox retry all", "Nothing is dead: there was nothing to retry."),
    ("U0TECH001", "outbox", "Only Council admins can do that: <@U0ADMIN01>."),
    ("U0TECH001", "me", "Your working hours"),
    ("U0TECH001", 'members add "unclosed', 'I could not read that command: a `"` is not closed.'),
]


async def test_every_subcommand_answers_through_the_real_app(council: Harness) -> None:
    for user, text, expected in EVERY_SUBCOMMAND:
        answer = await command(council, text, user=user)
        assert answer.startswith(expected), (text, answer)
        assert "Something went wrong" not in answer


async def test_a_delegates_vote_reads_in_the_channel_as_cast_for_the_member(council: Harness) -> None:
    await command(council, "members away <@U0FIN0001> until=2099-12-31 delegate=<@U0DEPUTY1|dee>", user=ADMIN)
    status, body = await council.escalate()
    assert status == 201
    public_id = str(body["id"])
    await council.posted(public_id)
    response = await council.click("U0DEPUTY1", ids.APPROVE, public_id)
    assert response.status == 200
    await council.fake.wait_for(
        lambda: "(finance, for @U0FIN0001): *Approve*" in council.message_text(public_id)
    )
