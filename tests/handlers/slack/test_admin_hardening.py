"""What an attack on the /council commands found, each kept fixed: names council.yml would refuse,
a delegate who would step aside as the owner, one person one seat, a second rotation, odd input."""

from __future__ import annotations

import pytest
import yaml

from bot.errors import CouncilError
from bot.governance import Choice
from bot.runtime import Runtime
from bot.services import agents, config, votes
from bot.services.agents import Credentials
from bot.services.votes import Ballot
from handlers.slack.errors import shown
from models import Agent, AuditEvent, Member, OutboxItem
from tests.bot.services.conftest import council, credentials, rt
from tests.handlers.slack.test_admin_commands import (
    CHAIR,
    DEPUTY,
    FINANCE,
    LEGAL,
    MEMBER,
    NEEDS_FINANCE,
    _ask,
    _notices,
    _open,
)

__all__ = ["council", "credentials", "rt"]

OWNER_STEPS_ASIDE = NEEDS_FINANCE.replace(
    "require_functions: [finance]}", "require_functions: [finance], exclude_owner: true}"
)


@pytest.mark.parametrize("name", ["Ops-Bot", "<!channel>", "x" * 200])
async def test_an_agent_name_council_yml_would_refuse_is_refused_from_slack(
    rt: Runtime, council: None, name: str
) -> None:
    answer = await _ask(f'agent create "{name}" owner=<@U0OWNER02>', rt=rt)
    assert "is not a valid agent name (lowercase letters, digits, '-' and '_', up to 80)" in answer
    assert await Agent.all().values_list("name", flat=True) == ["refund-bot"]  # the one council.yml declares
    assert not await OutboxItem.exists()


async def test_a_delegate_who_would_step_aside_as_the_owner_is_refused(credentials: Credentials) -> None:
    await config.apply_text(OWNER_STEPS_ASIDE, source="council.yml")
    # The agent's owner would be left out of its votes, and finance with them.
    answer = await _ask(f"members away <@{FINANCE}> until=2099-12-31 delegate=<@U0OWNER01>")
    assert answer.startswith("Not changed: after it, policy refunds on ai-council could never pass (")
    assert "U0OWNER01, the agent's owner, is left out" in answer
    assert (await Member.get(user_id=FINANCE)).away_until is None


async def test_a_delegate_holding_a_seat_cannot_be_seated_too(council: None) -> None:
    await _ask(f"members away <@{FINANCE}> until=2099-12-31 delegate=<@{DEPUTY}>")
    answer = await _ask(f"members add <@{DEPUTY}> function=ops")
    assert answer == (
        "<@U0DEPUTY1> holds <@U0FIN0001>'s seat on ai-council while they are away, and one person holds one "
        "seat; mark <@U0FIN0001> back first (`/council members back`)."
    )
    assert not await Member.filter(user_id=DEPUTY).exists()
    # Back: the seat is theirs again, and the delegate goes with the time away.
    await _ask(f"members back <@{FINANCE}>")
    seat = await Member.get(user_id=FINANCE)
    assert (seat.away_until, seat.delegate_user_id) == (None, None)


async def test_a_second_rotation_ends_the_first_ones_grace(rt: Runtime, credentials: Credentials) -> None:
    first = (await _ask("agent rotate refund-bot", rt=rt)).split("API key: `", 1)[1].split("`", 1)[0]
    second = (await _ask("agent rotate refund-bot", rt=rt)).split("API key: `", 1)[1].split("`", 1)[0]
    with pytest.raises(CouncilError, match="revoked"):
        await agents.authenticate(f"Bearer {credentials.api_key}")
    assert (await agents.authenticate(f"Bearer {first}")).name == "refund-bot"  # the last old key, in grace
    assert (await agents.authenticate(f"Bearer {second}")).name == "refund-bot"


async def test_odd_input_gets_a_plain_answer(rt: Runtime, credentials: Credentials) -> None:
    assert (await _ask("agent limits refund-bot rate_per_minute=²")).startswith(
        "`rate_per_minute=²` is not a whole number"
    )
    assert (await _ask("agent limits refund-bot max_amount=1,2,3")).startswith(
        "`max_amount=1,2,3` is not an amount"
    )
    assert (await _ask("agent limits refund-bot max_amount=0.5")).startswith(
        "Limits of *refund-bot* now: max_amount 0.5,"
    )
    both = await _ask('agent pause refund-bot reason="two words" extra words')
    assert both == 'Give the reason once: `reason="…"` or the words after the name, not both.'
    # Slack sends a typed & < > as entities: the reason reads as typed, and is escaped when shown.
    await _ask("agent pause refund-bot R&amp;D asked &lt;why&gt;")
    assert (await Agent.get(name="refund-bot")).paused_reason == "R&D asked <why>"
    assert (await _notices())[-1] == "<@U0ADMIN01> paused *refund-bot*: R&amp;D asked &lt;why&gt;"
    # The same pause again changes nothing, so nothing more is recorded or said.
    await _ask("agent pause refund-bot R&amp;D asked &lt;why&gt;")
    assert await AuditEvent.filter(action="agent.paused").count() == 1 and len(await _notices()) == 2
    await _ask(f"members add <@{MEMBER}> function=technology")
    assert len(await _notices()) == 2


async def test_an_away_member_who_votes_is_told_who_holds_their_seat(
    rt: Runtime, credentials: Credentials
) -> None:
    await _ask(f"members away <@{FINANCE}> until=2099-12-31 delegate=<@{DEPUTY}>")
    escalation = await _open(rt, credentials)
    with pytest.raises(CouncilError) as refused:
        await votes.cast(rt, public_id=escalation.public_id, user=FINANCE, ballot=Ballot(Choice.APPROVE))
    assert shown(refused.value).startswith(
        "You were away when this escalation opened: <@U0DEPUTY1> holds your seat on it and votes for you."
    )


async def test_a_chair_adds_to_the_council_they_chair_without_naming_it(council: None) -> None:
    assert (await _ask(f"members add <@{LEGAL}> function=legal role=CHAIR", user=CHAIR)).startswith(
        "Seated <@U0LEGAL01> on *ai-council* — legal, chair."
    )


async def test_time_away_goes_out_in_the_export_and_comes_back_in(council: None) -> None:
    await _ask(f"members away <@{FINANCE}> until=2099-12-31 delegate=<@{DEPUTY}>")
    exported = await config.export()
    [finance] = [m for m in exported["councils"][0]["members"] if m["user"] == FINANCE]
    assert finance == {"user": FINANCE, "function": "finance", "delegate": DEPUTY, "away_until": "2099-12-31"}
    report = await config.apply_text(yaml.safe_dump(exported), source="export")
    assert report.changes == []
