"""The App Home tab end to end for admins: the agents' kill switch, dead deliveries, 500 open items."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bot.services import agents, home
from bot.slack import ids
from models import Agent, AuditEvent, Escalation, OutboxItem
from models.enums import Delivery
from tests.fakeslack import validate_view
from tests.handlers.slack.home_tab import (
    ADMIN,
    HOSTILE,
    click_and_wait,
    escalate,
    mrkdwn,
    open_home,
    part,
    shown,
)
from tests.harness import Harness


async def test_an_admin_pauses_and_resumes_an_agent_from_home(council: Harness) -> None:
    view = await open_home(council, ADMIN)
    agents = part(shown(council, view), "Agents (1)", "Dead deliveries")
    assert "*refund-bot* — active" in agents and "owner @U0OWNER01" in agents and "[Pause]" in agents
    [block] = [b for b in view["blocks"] if b.get("block_id") == ids.home_agent_block("refund-bot")]
    assert block["accessory"]["confirm"]["title"]["text"] == "Pause refund-bot?"

    view = await click_and_wait(council, ADMIN, ids.HOME_PAUSE_AGENT, ids.home_agent_block("refund-bot"))
    assert "Agent *refund-bot* is now paused." in shown(council, view)
    assert "*refund-bot* — paused" in shown(council, view) and "[Resume]" in shown(council, view)
    assert (await Agent.get(name="refund-bot")).status == "paused"
    status, body = await council.escalate()
    assert status == 403 and body["error"]["code"] == "agent_paused"
    audit = await AuditEvent.filter(action="agent.paused", subject="refund-bot").first()
    assert audit is not None and audit.actor_id == ADMIN
    # As from `/council agent pause`, the council's channel hears of it in one line.
    await council.fake.wait_for(
        lambda: [m for m in council.fake.messages("C0COUNCIL") if "paused *refund-bot*" in m.text]
    )

    view = await click_and_wait(council, ADMIN, ids.HOME_RESUME_AGENT, ids.home_agent_block("refund-bot"))
    assert "Agent *refund-bot* is now active." in shown(council, view) and "[Pause]" in shown(council, view)
    status, _ = await council.escalate()
    assert status == 201


async def test_a_member_cannot_pause_an_agent_from_home(council: Harness) -> None:
    await open_home(council, "U0TECH001")
    block = ids.home_agent_block("refund-bot")
    view = await click_and_wait(council, "U0TECH001", ids.HOME_PAUSE_AGENT, block, value="refund-bot")
    # Rendered as Slack shows it: the mentions are names, not escaped text.
    refusal = "Only Council admins (@U0ADMIN01) or a chair of ai-council (@U0PEOPLE1) can do that."
    assert refusal in shown(council, view)
    assert "Agents (" not in shown(council, view)
    assert (await Agent.get(name="refund-bot")).status == "active"
    assert not await AuditEvent.filter(action="agent.paused").exists()


async def test_an_admin_sees_paused_agents_and_dead_deliveries_escaped(council: Harness) -> None:
    esc = await Escalation.get(public_id=await escalate(council))
    now = datetime.now(UTC)
    for n in range(4):
        await OutboxItem.create(
            kind="agent.callback" if n == 3 else "escalation.reminder",
            escalation=esc,
            status=Delivery.DEAD,
            attempts=8,
            next_attempt_at=now,
            last_error=f"{HOSTILE} #{n}",
        )
    await agents.pause(name="refund-bot", reason=HOSTILE, actor=ADMIN)
    view = await open_home(council, ADMIN)
    assert f"*refund-bot* — paused: {HOSTILE}" in shown(council, view) and "[Resume]" in shown(council, view)
    dead = part(shown(council, view), "Dead deliveries (4)")
    assert "*3* to Slack, *1* to agents, given up on after their retries. The latest:" in dead
    lines = [line for line in dead.splitlines() if line.startswith("• ")]
    assert [line.rsplit("#", 1)[1] for line in lines] == ["3", "2", "1"]
    assert f"agent.callback for `{esc.public_id}`, 8 attempts: {HOSTILE} #3" in lines[0]
    assert not any("<!channel>" in text or "<http" in text for text in mrkdwn(view["blocks"]))


async def test_500_open_items_stay_within_slack_limits(council: Harness) -> None:
    real = (
        await Escalation.filter(public_id=await escalate(council, title=HOSTILE))
        .select_related("agent")
        .get()
    )
    now = datetime.now(UTC)
    await Escalation.bulk_create(
        [
            Escalation(
                public_id=f"esc_{n:020x}",
                agent=real.agent,
                request_hash="seeded",
                kind=real.kind,
                title=f"{HOSTILE} {n}",
                status=real.status,
                council_id=real.council_id,
                channel_id=real.channel_id,
                rule=real.rule,
                electorate=[*real.electorate, {"user": ADMIN, "function": "oversight", "role": "member"}],
                # Spread out, a few without a deadline (those go last on either database).
                deadline=None if n % 100 == 0 else now + timedelta(minutes=30 + (n * 7919) % 499),
                amount=Decimal(n),
                currency="USD",
            )
            for n in range(500)
        ]
    )
    await Agent.bulk_create(
        [Agent(name=f"bot-{n:02d}", owner_user_id="U0OWNER01", signing_salt="s") for n in range(30)]
    )

    expected = await home.awaiting(ADMIN)
    assert len(expected) == 500 and all(item.deadline is None for item in expected[-5:])
    deadlines = [item.deadline for item in expected if item.deadline is not None]
    assert len(deadlines) == 495 and deadlines == sorted(deadlines)
    view = await open_home(council, ADMIN)
    assert validate_view(view, surface="home") == [] and len(view["blocks"]) <= 100
    awaiting = part(shown(council, view), "Awaiting your vote", "Incidents you own")
    assert awaiting.startswith(" (500)") and "… and 480 more" in awaiting
    shown_ids = [
        b["block_id"].removeprefix("council_home_vote_")
        for b in view["blocks"]
        if b.get("block_id", "").startswith("council_home_vote_")
    ]
    assert shown_ids == [item.public_id for item in expected[:20]]
    assert "Agents (31)" in shown(council, view) and "… and 11 more" in shown(council, view)
    assert not any("<!channel>" in text or "<http" in text for text in mrkdwn(view["blocks"]))

    member = await open_home(council, "U0TECH001")
    assert validate_view(member, surface="home") == [] and "Awaiting your vote (501)" in shown(
        council, member
    )
