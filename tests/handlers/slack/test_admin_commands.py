"""Running the council from /council: seats, delegation, agents and their keys, limits, the outbox.

Each command is answered as the person would read it (`_ask`); the database, the audit trail and the
outbox rows are read back to show what changed, and that a refusal changed nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot import keys
from bot.errors import CouncilError
from bot.governance import Choice
from bot.governance.calendar import Week
from bot.outbox.events import AdminChanged
from bot.runtime import Runtime
from bot.schemas import EscalationIn
from bot.services import agents, config, deadlines, digest, escalations, home, votes
from bot.services.agents import Credentials
from bot.services.votes import Ballot
from bot.slack import admin_notice
from handlers.slack import commands
from handlers.slack.errors import shown
from models import Agent, ApiKey, AuditEvent, Council, Escalation, Member, OutboxItem, Vote
from tests.bot.services.conftest import council, credentials, rt
from tests.harness import COUNCIL_YML

__all__ = ["council", "credentials", "rt"]

ADMIN, CHAIR, MEMBER, FINANCE = "U0ADMIN01", "U0PEOPLE1", "U0TECH001", "U0FIN0001"
LEGAL, DEPUTY = "U0LEGAL01", "U0DEPUTY1"
REFUND = {
    "kind": "approval",
    "title": "Refund order 1042",
    "action": {"type": "refund", "amount": "1250.00", "currency": "usd", "target": "order 1042"},
}
# Finance must vote on every refund: the finance seat matters, whoever holds it.
NEEDS_FINANCE = COUNCIL_YML.replace(
    "rule: {type: majority, quorum: 2}", "rule: {type: majority, quorum: 2, require_functions: [finance]}"
)


async def _ask(text: str, user: str = ADMIN, rt: Runtime | None = None) -> str:
    try:
        return await commands.answer(text, user, rt)
    except CouncilError as refusal:
        return shown(refusal)


async def _notices() -> list[str]:
    rows = await OutboxItem.filter(kind="admin.changed").order_by("id")
    return [admin_notice.line(AdminChanged.model_validate(row.payload)) for row in rows]


async def _open(rt: Runtime, creds: Credentials) -> Escalation:
    agent = await agents.authenticate(f"Bearer {creds.api_key}")
    escalation, _ = await escalations.create(
        rt, agent=agent, body=EscalationIn.model_validate(REFUND), idempotency_key=None
    )
    return escalation


def _seated(escalation: Escalation) -> list[tuple[str, str, str | None]]:
    return [(s["user"], s["function"], s.get("on_behalf_of")) for s in escalation.electorate]


async def test_an_admin_seats_a_member_by_mention_and_the_channel_is_told(
    rt: Runtime, credentials: Credentials
) -> None:
    answer = await _ask('members add <@U0LEGAL01|lea> function="Legal" role=chair')
    assert answer == (
        "Seated <@U0LEGAL01> on *ai-council* — legal, chair. It applies to escalations opened from now on. "
        "The channel has been told."
    )
    seat = await Member.get(user_id=LEGAL)
    assert (seat.function, seat.role, seat.active) == ("legal", "chair", True)
    event = await AuditEvent.filter(action="member.added").get()
    assert event.actor_id == ADMIN and event.subject == LEGAL
    assert event.payload["before"] is None and event.payload["after"]["function"] == "legal"
    assert await _notices() == ["<@U0ADMIN01> added <@U0LEGAL01>: legal, chair"]
    row = await OutboxItem.filter(kind="admin.changed").get()
    assert row.payload["channel"] == "C0COUNCIL" and row.escalation_id is None
    assert (LEGAL, "legal", None) in _seated(await _open(rt, credentials))

    # Seated again with another function: a change, said as one.
    await _ask(f"members add {LEGAL} function=risk")
    assert (await Member.get(user_id=LEGAL)).function == "risk"
    assert (await _notices())[-1] == "<@U0ADMIN01> changed the seat of <@U0LEGAL01>: risk, member"


async def test_a_chair_changes_their_own_council_and_a_member_is_told_who_can(council: None) -> None:
    assert (await _ask(f"members add <@{LEGAL}> function=legal", user=CHAIR)).startswith(
        "Seated <@U0LEGAL01>"
    )
    refused = await _ask(f"members remove <@{LEGAL}>", user=MEMBER)
    assert (
        refused == "Only Council admins (<@U0ADMIN01>) or a chair of ai-council (<@U0PEOPLE1>) can do that."
    )
    assert (await Member.get(user_id=LEGAL)).active
    assert await AuditEvent.filter(action="member.removed").count() == 0
    assert len(await _notices()) == 1


async def test_removing_a_member_keeps_their_row_and_refuses_to_break_a_rule(council: None) -> None:
    assert (await _ask(f"members remove <@{MEMBER}>")).startswith("Removed <@U0TECH001> from *ai-council*")
    assert not (await Member.get(user_id=MEMBER)).active
    # Two members left and a quorum of two: removing one more would leave the refunds policy unable to pass.
    refused = await _ask(f"members remove <@{FINANCE}>")
    assert refused.startswith("Not changed: after it, policy refunds on ai-council could never pass (")
    assert (await Member.get(user_id=FINANCE)).active
    assert [e.subject for e in await AuditEvent.filter(action="member.removed")] == [MEMBER]
    assert await _ask(f"members remove <@{MEMBER}>") == (
        "<@U0TECH001> has no seat on any council. See `/council members`."
    )
    assert await _ask(f"members remove <@{MEMBER}> council=ai-council") == (
        "<@U0TECH001> has no seat on ai-council. See `/council members ai-council`."
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("members add", "Use `/council members add @user function=FUNCTION [role=chair] [council=NAME]`."),
        (
            "members add <@U0LEGAL01>",
            "Use `/council members add @user function=FUNCTION [role=chair] [council=NAME]`.",
        ),
        (
            "members add ana function=legal",
            "`ana` is not a Slack user; mention them: type @ and pick the person from the list.",
        ),
        (
            "members add <@U0LEGAL01> function=legal role=boss",
            "That seat is not valid: role: Input should be",
        ),
        ("members add <@U0LEGAL01> function=legal council=nope", "There is no council named `nope`."),
        ("members add <@U0LEGAL01> function=legal colour=red", "`colour=` is not an option here (options: "),
        ("members add <@U0LEGAL01> function=a function=b", "`function=` is given twice; give it once."),
        ("members away <@U0FIN0001> until=tomorrow delegate=<@U0DEPUTY1>", "`until=tomorrow` is not a date;"),
        (
            "members away <@U0FIN0001> until=2020-01-01 delegate=<@U0DEPUTY1>",
            "`until=2020-01-01` is in the past;",
        ),
        ("members away <@U0FIN0001> until=2099-01-01 delegate=<@U0FIN0001>", "A member cannot be their own"),
        ("members away <@U0FIN0001> until=2099-01-01 delegate=<@U0TECH001>", "<@U0TECH001> has a seat on"),
        ("members away <@U0FIN0001> until=2099-01-01", "Use `/council members away @user until=YYYY-MM-DD"),
        ("members back <@U0FIN0001>", "<@U0FIN0001> is not marked away on ai-council."),
        ('members add <@U0LEGAL01> function="legal', 'I could not read that command: a `"` is not closed.'),
    ],
)
async def test_malformed_member_commands_say_what_is_wrong_and_change_nothing(
    council: None, text: str, expected: str
) -> None:
    assert (await _ask(text)).startswith(expected)
    assert await Member.filter(council__name="ai-council", active=True).count() == 3
    assert not await Member.filter(away_until__isnull=False).exists()
    assert not await OutboxItem.filter(kind="admin.changed").exists()


async def test_an_away_members_delegate_votes_in_their_seat_until_they_are_back(
    rt: Runtime, credentials: Credentials
) -> None:
    await config.apply_text(NEEDS_FINANCE, source="council.yml")
    answer = await _ask(f"members away <@{FINANCE}> until=2099-12-31 delegate=<@{DEPUTY}|dee>")
    assert answer == (
        "<@U0FIN0001> is away on *ai-council* until 2099-12-31 (inclusive): <@U0DEPUTY1> is asked in their "
        "seat (finance) meanwhile. The channel has been told."
    )
    assert (await _notices())[
        -1
    ] == "<@U0ADMIN01> marked away <@U0FIN0001>: until 2099-12-31, delegate <@U0DEPUTY1>"
    assert "• <@U0FIN0001> — finance, member, away until 2099-12-31, delegate <@U0DEPUTY1>" in await _ask(
        "members"
    )

    escalation = await _open(rt, credentials)
    assert _seated(escalation) == [
        ("U0PEOPLE1", "people", None),
        ("U0TECH001", "technology", None),
        (DEPUTY, "finance", FINANCE),
    ]
    with pytest.raises(CouncilError):  # the away member has no seat on it
        await votes.cast(rt, public_id=escalation.public_id, user=FINANCE, ballot=Ballot(Choice.APPROVE))
    # The delegate's Home tab asks for that vote, and counts the council as theirs meanwhile.
    deputy_home = await home.for_user(DEPUTY, now=escalation.created_at)
    assert [item.public_id for item in deputy_home.awaiting] == [escalation.public_id]
    assert deputy_home.load is not None and deputy_home.load.asked == 1
    # A reminder goes to whoever holds the seat: the delegate, not the member who is away.
    await deadlines.remind(rt, escalation.id, count=1)
    reminded = await OutboxItem.filter(escalation=escalation, kind="escalation.reminder").order_by("id")
    assert [row.payload["user"] for row in reminded] == ["U0PEOPLE1", "U0TECH001", DEPUTY]
    await votes.cast(rt, public_id=escalation.public_id, user=MEMBER, ballot=Ballot(Choice.APPROVE))
    # Two approvals is a majority, but finance has not voted: still pending.
    assert (await Escalation.get(id=escalation.id)).status == "pending"
    approve = Ballot(Choice.APPROVE, reason="within budget")
    await votes.cast(rt, public_id=escalation.public_id, user=DEPUTY, ballot=approve)
    assert (await Escalation.get(id=escalation.id)).status == "approved"
    vote = await Vote.get(escalation_id=escalation.id, user_id=DEPUTY)
    assert (vote.function, vote.on_behalf_of) == ("finance", FINANCE)
    cast = await AuditEvent.filter(action="vote.cast", actor_id=DEPUTY).get()
    assert cast.payload["on_behalf_of"] == FINANCE
    # The digest counts the seat's asks, votes and reminders for the delegate who held it.
    council_row = await Council.get(name="ai-council")
    week = await digest.compute(council_row, Week.of(escalation.created_at, council_row.timezone))
    loads = {load.user: load for load in week.week.flourishing.members}
    assert (loads[DEPUTY].asked, loads[DEPUTY].voted, loads[DEPUTY].reminders) == (1, 1, 0)
    assert FINANCE not in loads or loads[FINANCE].asked == 0

    assert (await _ask(f"members back <@{FINANCE}>")).startswith("<@U0FIN0001> is back on *ai-council*")
    assert (FINANCE, "finance", None) in _seated(await _open(rt, credentials))


async def test_an_agent_created_from_slack_gets_a_working_key_shown_once(rt: Runtime, council: None) -> None:
    answer = await _ask("agent create ops-bot owner=<@U0OWNER02|owen> council=ai-council", rt=rt)
    key = answer.split("API key: `", 1)[1].split("`", 1)[0]
    secret = answer.split("Callback signing secret: `", 1)[1].split("`", 1)[0]
    assert answer.startswith("Created agent *ops-bot*.") and "Only you can see this, and only now" in answer
    agent = await agents.authenticate(f"Bearer {key}")
    assert (agent.name, agent.owner_user_id) == ("ops-bot", "U0OWNER02")
    assert secret == keys.signing_secret(rt.server_key, agent.signing_salt)
    # The channel hears that it exists, never its key.
    assert await _notices() == ["<@U0ADMIN01> created agent *ops-bot*"]
    stored = str([row.payload for row in await OutboxItem.all()]) + str(
        [event.payload for event in await AuditEvent.all()]
    )
    assert key not in stored and secret not in stored
    assert (await _ask("agent create ops-bot owner=<@U0OWNER02>", rt=rt)).startswith(
        "agent 'ops-bot' already"
    )
    assert (await _ask("agent create x-bot owner=<@U0OWNER02>", user=CHAIR, rt=rt)) == (
        "Only Council admins can do that: <@U0ADMIN01>."
    )
    assert (
        await _ask("agent create x-bot", rt=rt)
        == "Use `/council agent create NAME owner=@user [council=NAME]`."
    )


async def test_a_rotated_key_keeps_working_for_the_grace_period_then_stops(
    rt: Runtime, credentials: Credentials
) -> None:
    answer = await _ask("agent rotate refund-bot", rt=rt)
    assert answer.startswith(
        "New credentials for *refund-bot*. The old key and signing secret keep working until "
    )
    new_key = answer.split("API key: `", 1)[1].split("`", 1)[0]
    old, new = f"Bearer {credentials.api_key}", f"Bearer {new_key}"
    assert (await agents.authenticate(old)).name == (await agents.authenticate(new)).name == "refund-bot"
    agent = await Agent.get(name="refund-bot")
    assert agent.previous_salt_until is not None
    grace = agent.previous_salt_until - datetime.now(UTC)
    assert timedelta(hours=23, minutes=59) < grace <= timedelta(hours=24)
    # During the grace, each callback carries a signature by each secret: either verifies.
    both = keys.signing_secrets(
        rt.server_key,
        agent.signing_salt,
        previous=agent.previous_signing_salt,
        previous_until=agent.previous_salt_until,
        now=datetime.now(UTC),
    )
    header = keys.sign(both, b"{}")
    assert header.count("v1=") == 2
    assert keys.verify(credentials.signing_secret, b"{}", header)
    assert keys.verify(keys.signing_secret(rt.server_key, agent.signing_salt), b"{}", header)
    assert not keys.verify("whsec_other", b"{}", header)

    # The grace period ends: what was valid until then is refused.
    await ApiKey.filter(revoked_at__isnull=False).update(revoked_at=datetime.now(UTC) - timedelta(seconds=1))
    with pytest.raises(CouncilError, match="revoked"):
        await agents.authenticate(old)
    assert (await agents.authenticate(new)).name == "refund-bot"
    later = keys.signing_secrets(
        rt.server_key,
        agent.signing_salt,
        previous=agent.previous_signing_salt,
        previous_until=agent.previous_salt_until,
        now=agent.previous_salt_until + timedelta(seconds=1),
    )
    assert later == [keys.signing_secret(rt.server_key, agent.signing_salt)]
    event = await AuditEvent.filter(action="agent.rotated").get()
    assert event.payload["via"] == "slack" and event.actor_id == ADMIN


async def test_rotate_now_revokes_the_old_key_at_once(rt: Runtime, credentials: Credentials) -> None:
    answer = await _ask("agent rotate refund-bot now", rt=rt)
    assert "The old key and signing secret were revoked at once." in answer
    with pytest.raises(CouncilError, match="revoked"):
        await agents.authenticate(f"Bearer {credentials.api_key}")
    assert (await Agent.get(name="refund-bot")).previous_signing_salt is None
    assert (await _notices())[-1] == "<@U0ADMIN01> rotated the keys of *refund-bot*: old key revoked"
    refused = await _ask("agent rotate refund-bot", user=MEMBER, rt=rt)
    assert refused.startswith("Only Council admins (<@U0ADMIN01>) or a chair of ai-council")
    assert await AuditEvent.filter(action="agent.rotated").count() == 1


async def test_limits_change_the_mandate_and_say_before_and_after(credentials: Credentials) -> None:
    answer = await _ask(
        'agent limits refund-bot max_amount="5,000 EUR" auto_budget_24h=20000 rate_per_minute=60'
    )
    assert answer == (
        "Limits of *refund-bot* now: max_amount 5000 EUR, auto_budget_24h 20000, rate_per_minute 60, "
        "currency none. The channel has been told."
    )
    agent = await Agent.get(name="refund-bot")
    assert agent.limits == {
        "max_amount": {"amount": "5000", "currency": "EUR"},
        "auto_budget_24h": "20000",
        "rate_per_minute": 60,
    }
    assert (await _ask("agent limits refund-bot rate_per_minute=none")).endswith(
        "rate_per_minute none, currency none. The channel has been told."
    )
    events = await AuditEvent.filter(action="agent.limits").order_by("id")
    assert events[1].payload["before"]["rate_per_minute"] == 60
    assert "rate_per_minute" not in events[1].payload["after"]
    assert (await _notices())[0] == (
        "<@U0ADMIN01> changed the limits of *refund-bot*: max_amount 5,000 EUR, auto_budget_24h 20000, "
        "rate_per_minute 60"
    )
    for text, expected in [
        ("agent limits refund-bot", "Give at least one limit to change"),
        ("agent limits refund-bot max_amount=lots", "`max_amount=lots` is not an amount;"),
        ("agent limits refund-bot rate_per_minute=1.5", "`rate_per_minute=1.5` is not a whole number"),
        ("agent limits refund-bot rate_per_minute=0", "`rate_per_minute` is not valid:"),
        ("agent limits refund-bot storm_after=5", "`storm_after=` is not an option here"),
        ("agent limits no-bot max_amount=5", "no agent named 'no-bot'"),
    ]:
        assert (await _ask(text)).startswith(expected), text
    assert await AuditEvent.filter(action="agent.limits").count() == 2


async def test_pause_takes_a_quoted_reason_and_the_channel_hears_who_and_why(
    credentials: Credentials,
) -> None:
    assert (
        await _ask('agent pause refund-bot reason="runaway refunds"') == "Agent *refund-bot* is now paused."
    )
    assert (await Agent.get(name="refund-bot")).paused_reason == "runaway refunds"
    assert await _ask("agent resume refund-bot") == "Agent *refund-bot* is now active."
    assert await _notices() == [
        "<@U0ADMIN01> paused *refund-bot*: runaway refunds",
        "<@U0ADMIN01> resumed *refund-bot*",
    ]
    paused = await AuditEvent.filter(action="agent.paused").get()
    assert paused.payload["before"] == {"status": "active", "reason": None}
    assert paused.payload["after"] == {"status": "paused", "reason": "runaway refunds"}


async def test_the_outbox_shows_states_and_dead_rows_and_retries_them(
    rt: Runtime, credentials: Credentials
) -> None:
    first, second = await _open(rt, credentials), await _open(rt, credentials)
    await OutboxItem.filter(escalation=first).update(
        status="dead", last_error="slack: is_archived <!channel>"
    )
    await OutboxItem.filter(escalation=second).update(status="dead", last_error="slack: channel_not_found")
    dead = await OutboxItem.filter(status="dead").order_by("id")
    answer = (await _ask("outbox")).splitlines()
    assert answer[0] == "Outbox: *0* waiting, *2* dead, 0 delivered."
    assert answer[2] == (
        f"• *{dead[1].id}* escalation.opened to slack for `{second.public_id}`, 0 attempts: "
        "slack: channel_not_found"
    )
    assert answer[3].endswith("slack: is_archived &lt;!channel&gt;")
    assert (await _ask("outbox", user=MEMBER)) == "Only Council admins can do that: <@U0ADMIN01>."
    assert await _ask(f"outbox retry {dead[0].id}") == (
        f"Outbox row *{dead[0].id}* (escalation.opened) is queued again and goes out now."
    )
    assert await _ask(f"outbox retry {dead[0].id}") == (
        f"outbox row {dead[0].id} is pending, not dead: there is nothing to retry"
    )
    assert await _ask("outbox retry all") == "*1* dead delivery is queued again and goes out now."
    assert await _ask("outbox retry all") == "Nothing is dead: there was nothing to retry."
    assert (await _ask("outbox retry x1")).startswith("`x1` is not an outbox row id.")
    assert (await _ask("outbox purge")).startswith("Use `/council outbox`")
    assert await OutboxItem.filter(status="dead").count() == 0
    assert await AuditEvent.filter(action="outbox.retried", actor_id=ADMIN).count() == 2
