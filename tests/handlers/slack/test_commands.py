"""The /council command on a real database: what each command answers, and who may change things."""

from __future__ import annotations

import html
import re

import pytest
import yaml

from bot.errors import CouncilError
from bot.governance import Choice
from bot.runtime import Runtime
from bot.schemas import EscalationIn
from bot.services import agents, config, escalations, votes
from bot.services.agents import Credentials
from bot.services.votes import Ballot
from bot.slack import admin_views
from handlers.slack import commands
from handlers.slack.errors import shown
from models import Agent, AuditEvent, Escalation, OutboxItem
from tests.bot.services.conftest import council, credentials, rt
from tests.harness import COUNCIL_YML

__all__ = ["council", "credentials", "rt"]

ADMIN, MEMBER = "U0ADMIN01", "U0TECH001"
REFUND = {
    "kind": "approval",
    "title": "Refund order 1042",
    "action": {"type": "refund", "amount": "1250.00", "currency": "usd", "target": "order 1042"},
}
# Two more policies in front of the fixture's: one decides at once, one routes with its own terms.
MORE_POLICIES = COUNCIL_YML.replace(
    "policies:\n",
    """policies:
  - name: small-refunds
    match: {agent: refund-bot, category: small, amount_lt: 500}
    decide: reject
  - name: big-refunds
    match: {kind: approval, amount_gte: 10000, currency: EUR}
    rule: {type: unanimous, require_functions: [finance]}
    deadline: 2d
    on_timeout: escalate
""",
)


async def _open(rt: Runtime, creds: Credentials, **changes: object) -> Escalation:
    agent = await agents.authenticate(f"Bearer {creds.api_key}")
    escalation, _ = await escalations.create(
        rt, agent=agent, body=EscalationIn.model_validate({**REFUND, **changes}), idempotency_key=None
    )
    return escalation


async def _ask(text: str, user: str = ADMIN) -> str:
    """What the person reads: the answer, or the refusal the listener's guard shows them."""
    try:
        return await commands.answer(text, user)
    except CouncilError as refusal:
        return shown(refusal)


async def _answer(rt: Runtime, text: str, user: str = ADMIN) -> str:
    """As `_ask`, for the commands that need the runtime (keys are issued with its server key)."""
    try:
        return await commands.answer(text, user, rt)
    except CouncilError as refusal:
        return shown(refusal)


async def test_help_lists_exactly_the_commands_that_answer(rt: Runtime, credentials: Credentials) -> None:
    bullets = [line for line in (await _ask("help")).splitlines()[1:] if line.startswith("•")]
    listed = [command for line in bullets for command in re.findall(r"`([^`]+)`", line.split(" — ")[0])]
    assert listed == [
        "help",
        "status",
        "members [COUNCIL]",
        "agents",
        "agent list",
        "policies",
        "decisions [agent=NAME] [outcome=OUTCOME] [since=YYYY-MM-DD] [N]",
        "me [hours=08:00-16:00]",
        "members add @user function=FUNCTION [role=chair] [council=NAME]",
        "members remove @user [council=NAME]",
        "members away @user until=YYYY-MM-DD delegate=@user [council=NAME]",
        "members back @user [council=NAME]",
        "agent create NAME owner=@user [council=NAME]",
        "agent rotate NAME [now]",
        "agent pause NAME [reason]",
        "agent resume NAME",
        "agent limits NAME max_amount=… auto_budget_24h=… rate_per_minute=…",
        "outbox",
        "outbox retry ID|all",
        "export",
        "export decisions [since=YYYY-MM-DD]",
        "digest now [COUNCIL]",
    ]
    filled = {
        "@user": "<@U0LEGAL01|lea>",
        "FUNCTION": "legal",
        "NAME": "refund-bot",
        "YYYY-MM-DD": "2099-01-01",
        "ID|all": "all",
        "…": "100",
        "OUTCOME": "approved",
    }
    for command in listed:
        words = re.sub(r" \[.*?\]", "", command)
        for placeholder, value in filled.items():
            words = words.replace(placeholder, value)
        answer = await _answer(rt, words)
        assert "I don't know" not in answer and not answer.startswith("Use `/council"), (command, answer)
    assert await _ask("") == await _ask("help") == await _ask("HELP")


async def test_unknown_or_unreadable_words_get_one_line_pointing_to_help(council: None) -> None:
    assert await _ask("frobnicate now") == f"I don't know `frobnicate now`.\n\n{admin_views.HELP}"
    # A typo is answered with what it most likely meant, then the help.
    assert (await _ask("stauts")).startswith("I don't know `stauts`. Did you mean `status`?\n\n*Council*")
    assert (await _ask("agent craete x")).endswith("Did you mean `agent create`?")
    assert (await _ask("members ad <@U0LEGAL01>")).endswith("Did you mean `members add`?")
    hostile = await _ask("<!channel> <http://evil.example|bank>")
    assert "<!channel>" not in hostile and "<http" not in hostile
    assert hostile.startswith("I don't know `&lt;!channel&gt;")
    assert "could not read" in await _ask('agent pause "refund-bot')


async def test_a_member_cannot_pause_an_agent_and_nothing_changes(credentials: Credentials) -> None:
    answer = await _ask("agent pause refund-bot going rogue", user=MEMBER)
    # The refusal says who can: the admins, and the chairs of the agent's council.
    assert answer == "Only Council admins (<@U0ADMIN01>) or a chair of ai-council (<@U0PEOPLE1>) can do that."
    agent = await Agent.get(name="refund-bot")
    assert agent.status == "active" and agent.paused_reason is None
    assert not await AuditEvent.filter(action="agent.paused").exists()
    assert "Only Council admins" in await _ask("agent resume refund-bot", user=MEMBER)


async def test_an_admin_pauses_and_resumes_with_a_reason_everyone_can_read(credentials: Credentials) -> None:
    assert await _ask("agent pause refund-bot overspent <!channel>") == "Agent *refund-bot* is now paused."
    agent = await Agent.get(name="refund-bot")
    assert agent.status == "paused" and agent.paused_reason == "overspent <!channel>"
    shown = await _ask("agents", user=MEMBER)
    assert shown == "• *refund-bot* — owner <@U0OWNER01>, paused (overspent &lt;!channel&gt;)"
    assert await _ask("agent list", user=MEMBER) == shown
    event = await AuditEvent.filter(action="agent.paused").get()
    assert event.actor_id == ADMIN and event.subject == "refund-bot"

    assert await _ask("agent resume refund-bot") == "Agent *refund-bot* is now active."
    assert (await Agent.get(name="refund-bot")).status == "active"
    assert await _ask("agent pause no-such-bot") == "no agent named 'no-such-bot'"
    assert (await _ask("agent pause")).startswith("Use `/council agent pause NAME [reason]`")


async def test_an_agent_removed_from_council_yml_is_not_resumed_from_slack(credentials: Credentials) -> None:
    without = COUNCIL_YML.replace("  - {name: refund-bot, owner: U0OWNER01, council: ai-council}\n", "")
    await config.apply_text(without, source="council.yml")
    assert await _ask("agent resume refund-bot") == (
        "agent refund-bot was removed from council.yml; add it back to the file and apply it to resume it"
    )
    assert (await Agent.get(name="refund-bot")).paused_reason == "removed from council.yml"


async def test_members_show_function_role_activity_and_delegate(council: None) -> None:
    assert await _ask("members", user=MEMBER) == "\n".join(
        [
            "*ai-council* (<#C0COUNCIL>) — 3 active",
            "• <@U0PEOPLE1> — people, chair",
            "• <@U0TECH001> — technology, member",
            "• <@U0FIN0001> — finance, member",
        ]
    )
    changed = COUNCIL_YML.replace(
        "      - {user: U0FIN0001, function: finance}\n",
        "      - {user: U0LEGAL01, function: legal <!here>, delegate: U0FIN0001}\n",
    )
    await config.apply_text(changed, source="council.yml")
    shown = await _ask("members ai-council")
    assert "• <@U0LEGAL01> — legal &lt;!here&gt;, member, delegate <@U0FIN0001>" in shown
    assert shown.splitlines()[-1] == "• <@U0FIN0001> — finance, member (inactive)"
    assert "— 3 active" in shown and "<!here>" not in shown
    assert await _ask("members nope") == "There is no council named `nope`. Try `/council members`."


async def test_policies_show_the_order_match_route_and_rule_in_words(council: None) -> None:
    await config.apply_text(MORE_POLICIES, source="council.yml")
    assert (await _ask("policies", user=MEMBER)).splitlines() == [
        "Policies, first match wins:",
        "1. *small-refunds* — when agent refund-bot, category small, amount < 500 → reject at once",
        "2. *big-refunds* — when kind approval, currency EUR, amount ≥ 10,000 → council *ai-council*, "
        "rule unanimous · needs finance, deadline 2d, on timeout escalate",
        "3. *refunds* — when kind approval → council *ai-council*, rule majority · quorum 2, "
        "deadline 4h, on timeout reject",
        "Otherwise (default): council *ai-council*, rule majority, deadline 24h, on timeout reject",
    ]


async def test_decisions_list_the_latest_with_outcome_who_and_tally(
    rt: Runtime, credentials: Credentials
) -> None:
    assert await _ask("decisions") == "No decisions yet."
    voted = await _open(rt, credentials, title="Refund <!channel> order 7")
    for user in ("U0TECH001", "U0FIN0001"):
        await votes.cast(rt, public_id=voted.public_id, user=user, ballot=Ballot(Choice.APPROVE))
    await config.apply_text(MORE_POLICIES, source="council.yml")
    rejected = [
        await _open(rt, credentials, title=f"Small refund {n}", category="small", action={"amount": 20})
        for n in range(11)
    ]
    lines = (await _ask("decisions 10", user=MEMBER)).splitlines()
    assert lines[0] == "The last 10 decisions, newest first:" and len(lines) == 12
    assert lines[1].startswith(
        f"• `{rejected[-1].public_id}` Small refund 10 (20) from refund-bot — *rejected* by policy"
    )
    assert lines[1].endswith(" · no vote")
    lines = (await _ask("decisions 50")).splitlines()
    assert lines[0] == "The last 12 decisions, newest first:"
    assert (await _ask("decisions")).splitlines() == lines  # 20 unless given
    assert lines[-1].startswith(
        f"• `{voted.public_id}` Refund &lt;!channel&gt; order 7 ($1,250) from refund-bot — *approved* by "
        "council, 20"
    )
    assert lines[-1].endswith(" UTC · 2 approve, 0 reject, 0 abstain, 1 waiting")
    assert len((await _ask("decisions 500")).splitlines()) == 13  # at most 50; all 12 here
    assert "not a number of decisions" in await _ask("decisions 0")
    assert "`ten` is not a number of decisions" in await _ask("decisions ten")


async def test_status_escapes_agent_titles(rt: Runtime, credentials: Credentials) -> None:
    assert await _ask("status") == "Nothing is waiting for the council."
    escalation = await _open(rt, credentials, title="<!channel> wire <http://evil.example|now>")
    answer = await _ask("status", user=MEMBER)
    assert answer.startswith("*1* approvals pending, *0* incidents open.")
    assert f"`{escalation.public_id}` &lt;!channel&gt; wire &lt;http://evil.example|now&gt; — due " in answer
    assert "<!channel>" not in answer and "<http" not in answer
    for n in range(11):
        await _open(rt, credentials, title=f"Refund {n}", deadline_seconds=60 * (n + 1))
    lines = (await _ask("status")).splitlines()
    assert lines[0] == "*12* approvals pending (the 10 soonest due below), *0* incidents open."
    assert [line.split("` ")[1].split(" — ")[0] for line in lines[1:]] == [f"Refund {n}" for n in range(10)]


def test_long_answers_end_on_a_whole_line_and_say_what_was_left_out() -> None:
    lines = [f"line {n} " + "x" * 90 for n in range(100)]
    answer = admin_views.fit(lines, limit=1000)
    assert len(answer) <= 1000 and answer.endswith("\n… and 91 more lines.")
    assert answer.splitlines()[:-1] == lines[:9]
    assert admin_views.fit(lines[:3]) == "\n".join(lines[:3])


def _code_block(answer: str) -> str:
    found = re.search(r"```\n(.*)\n```", answer, flags=re.DOTALL)
    assert found, answer
    return html.unescape(found.group(1).replace("\u200b", ""))


async def test_export_is_for_admins_and_is_the_configuration_as_yaml(credentials: Credentials) -> None:
    assert "Only Council admins" in await _ask("export", user=MEMBER)
    answer = await _ask("export")
    assert answer.startswith("council.yml as Council has it:\n```\n") and answer.endswith("```")
    assert yaml.safe_load(_code_block(answer)) == await config.export()


async def test_export_escapes_and_cuts_a_large_configuration_on_a_whole_line(council: None) -> None:
    seats = "".join(f"      - {{user: U0M{n:05d}, function: 'ops <!channel> ```'}}\n" for n in range(300))
    await config.apply_text(
        COUNCIL_YML.replace("      - {user: U0FIN0001, function: finance}\n", seats), source="council.yml"
    )
    answer = await _ask("export")
    assert len(answer) <= 3000
    assert answer.endswith("```\n_Cut short to fit in Slack; `council config export` prints the whole file._")
    assert "<!channel>" not in answer and answer.count("```") == 2  # only the fences
    body = _code_block(answer)
    assert yaml.safe_load(body.split("\n  - user: U0M00001")[0] + "\n")["councils"][0]["members"][2] == {
        "user": "U0M00000",
        "function": "ops <!channel> ```",
    }
    assert body.splitlines()[-1].startswith(("  - user:", "    function:"))


async def test_digest_now_is_for_admins_and_others_learn_who_they_are(council: None) -> None:
    assert await _ask("digest now", user=MEMBER) == (
        "Only Council admins can post the digest now: <@U0ADMIN01>. It is posted weekly on its own."
    )
    assert not await OutboxItem.filter(kind="digest.ready").exists()
    answer = await _ask("digest now")
    assert re.fullmatch(
        r"Posting the digest for week \d{4}-W\d{2} of \*ai-council\* to <#C0COUNCIL>\.\n"
        r"It arrives in a moment; the chart follows in its thread\.",
        answer,
    ), answer
    assert await OutboxItem.filter(kind="digest.ready").count() == 1
    assert (
        await _ask("digest")
        == await _ask("digest later")
        == ("Use `/council digest now` (every council) or `/council digest now COUNCIL`.")
    )


@pytest.mark.parametrize(
    "text",
    [
        "decisions ²",
        "decisions 99999999999",
        "agent pause " + "x" * 120,
        "agent resume " + "x" * 120,
        "members " + "y" * 120,
    ],
)
async def test_odd_words_get_a_plain_answer_not_a_crash(council: None, text: str) -> None:
    answer = await _ask(text)
    assert "Something went wrong" not in answer and answer.strip()


async def test_status_counts_dead_deliveries_and_says_how_to_retry_them(
    rt: Runtime, credentials: Credentials
) -> None:
    escalation = await _open(rt, credentials)
    await OutboxItem.filter(escalation=escalation).update(status="dead", last_error="slack: is_archived")
    answer = await _ask("status")
    assert answer.splitlines()[0] == (
        ":warning: *1* delivery is dead (1 to Slack): see `/council outbox`, then "
        "`/council outbox retry ID` or `retry all` (on the server: `council outbox list --dead`)."
    )
    assert answer.splitlines()[1].startswith("*1* approvals pending")
