"""The outbox's races, each made to happen at the worst moment by a hook rather than by luck."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.app import slack_client
from bot.governance import Choice
from bot.outbox import slack_effects
from bot.outbox.worker import OutboxWorker
from bot.runtime import Runtime
from bot.schemas import EscalationIn, WithdrawIn
from bot.services import agents, amendments, config, escalations, votes
from bot.services.agents import Credentials
from bot.services.votes import Ballot
from bot.settings import Settings
from models import Escalation, OutboxItem
from tests.bot.outbox.test_outbox import AUTO_YML
from tests.fakeslack import FakeSlack
from tests.harness import REFUND

# The delivery tests' council, with a second agent beside the first.
TWO_AGENTS_YML = AUTO_YML.replace(
    "  - {name: auto-bot, owner: U0OWNER01, council: ai-council}\n",
    "  - {name: slow-bot, owner: U0OWNER01, council: ai-council}\n"
    "  - {name: fast-bot, owner: U0OWNER02, council: ai-council}\n",
)


def _worker(rt: Runtime, settings: Settings, fake: FakeSlack, http: aiohttp.ClientSession) -> OutboxWorker:
    return OutboxWorker(rt, slack_client(settings.model_copy(update={"slack_api_url": fake.api_url})), http)


async def _escalate(rt: Runtime, api_key: str, **changes: Any) -> Escalation:
    agent = await agents.authenticate(f"Bearer {api_key}")
    body = EscalationIn.model_validate({**REFUND, **changes})
    escalation, _ = await escalations.create(rt, agent=agent, body=body, idempotency_key=None)
    return escalation


def _buttons(fake: FakeSlack) -> list[str]:
    message = fake.messages("C0COUNCIL")[0]
    return [e["text"]["text"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]]


@pytest.mark.parametrize("moment", ["before", "after"])
async def test_a_change_committed_while_a_render_is_built_is_never_lost(
    moment: str,
    rt: Runtime,
    settings: Settings,
    credentials: Credentials,
    fake: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    escalation = await _escalate(rt, credentials.api_key)
    async with aiohttp.ClientSession() as http:
        worker = _worker(rt, settings, fake, http)
        await worker.deliver_due()
        await votes.cast(rt, public_id=escalation.public_id, user="U0TECH001", ballot=Ballot(Choice.APPROVE))
        absorb = slack_effects.coalesce
        withdrawn = False

        async def withdraw_meanwhile(row: OutboxItem) -> None:
            # The agent withdraws while the tally's re-render is under way: before it absorbs the
            # queued re-renders, or after it did and before it reads the escalation.
            nonlocal withdrawn
            if moment == "after":
                await absorb(row)
            if not withdrawn:
                withdrawn = True
                agent = await agents.get("refund-bot")
                await amendments.withdraw(rt, agent=agent, public_id=escalation.public_id, body=WithdrawIn())
            if moment == "before":
                await absorb(row)

        monkeypatch.setattr(slack_effects, "coalesce", withdraw_meanwhile)
        await worker.deliver_due()
        await worker.deliver_due()
    assert withdrawn
    assert _buttons(fake) == [], "a withdrawn escalation's message kept its vote buttons"
    assert "Withdrawn" in fake.rendered_text(fake.messages("C0COUNCIL")[0])
    assert not await OutboxItem.filter(status__in=("pending", "dead")).exists()


async def test_two_workers_share_one_backlog_without_a_dead_row(
    rt: Runtime, settings: Settings, credentials: Credentials, fake: FakeSlack
) -> None:
    opened = [await _escalate(rt, credentials.api_key, title=f"Refund {n}") for n in range(3)]
    for escalation in opened:
        for user in ("U0TECH001", "U0FIN0001"):
            ballot = Ballot(Choice.APPROVE)
            await votes.cast(rt, public_id=escalation.public_id, user=user, ballot=ballot)
    head = await OutboxItem.get(escalation=opened[0], kind="escalation.opened")
    arrived, release = fake.hold_next("chat.postMessage")  # the first post is slow
    first_claimed = asyncio.Event()
    async with aiohttp.ClientSession() as http:
        first, second = _worker(rt, settings, fake, http), _worker(rt, settings, fake, http)
        # Both replicas have read the backlog; the second tries the head only once the first holds it.
        claim_first, claim_second = first._claim, second._claim

        async def first_claims(row: OutboxItem) -> bool:
            claimed = await claim_first(row)
            if row.id == head.id and claimed:
                first_claimed.set()
            return claimed

        async def second_claims(row: OutboxItem) -> bool:
            if row.id == head.id:
                await first_claimed.wait()
            return await claim_second(row)

        first._claim, second._claim = first_claims, second_claims  # type: ignore[method-assign]
        one = asyncio.create_task(first.deliver_due())
        await second.deliver_due()
        await arrived.wait()
        release.set()
        await one
        await first.deliver_due()
        await second.deliver_due()
    rows = await OutboxItem.all().values_list("kind", "status", "last_error")
    assert [row for row in rows if row[1] != "done"] == []
    posts = [c for c in fake.calls if c.method == "chat.postMessage" and c.ok]
    assert len([c for c in posts if "thread_ts" not in c.args]) == 3
    assert len([c for c in posts if "thread_ts" in c.args]) == 3
    for message in fake.messages("C0COUNCIL"):
        assert "Approved" in fake.rendered_text(message)


async def test_a_slow_agent_endpoint_does_not_delay_another_agents_callback(
    database: str, rt: Runtime, settings: Settings, fake: FakeSlack
) -> None:
    release, fast_arrived = asyncio.Event(), asyncio.Event()
    waiting = {"now": 0, "most": 0, "done": 0}

    async def slow(request: web.Request) -> web.Response:
        waiting["now"] += 1
        waiting["most"] = max(waiting["most"], waiting["now"])
        await release.wait()
        waiting["now"] -= 1
        waiting["done"] += 1
        return web.Response(status=204)

    async def fast(request: web.Request) -> web.Response:
        fast_arrived.set()
        return web.Response(status=204)

    async with _serving({"/slow": slow, "/fast": fast}) as url:
        await _race_callbacks(rt, settings, fake, url, release, fast_arrived, waiting)
    assert waiting["most"] <= 2, "one agent had more callbacks in flight than its share"
    assert waiting["done"] == 20
    assert await OutboxItem.filter(kind="agent.callback", status="done").count() == 21


async def _race_callbacks(
    rt: Runtime,
    settings: Settings,
    fake: FakeSlack,
    url: str,
    release: asyncio.Event,
    fast_arrived: asyncio.Event,
    waiting: dict[str, int],
) -> None:
    await config.apply_text(TWO_AGENTS_YML, source="council.yml")
    keys = {
        name: (await agents.create(name=name, owner=owner, council=None, server_key=rt.server_key)).api_key
        for name, owner in (("slow-bot", "U0OWNER01"), ("fast-bot", "U0OWNER02"))
    }
    for n in range(20):
        await _escalate(rt, keys["slow-bot"], title=f"Slow {n}", category="small", callback_url=f"{url}/slow")
    await _escalate(rt, keys["fast-bot"], title="Fast", category="small", callback_url=f"{url}/fast")
    async with aiohttp.ClientSession() as http:
        worker = _worker(rt, settings, fake, http)
        delivering = asyncio.create_task(worker.deliver_due(lane="agents"))
        try:
            # While every slow callback in flight is still waiting for its agent to answer.
            await asyncio.wait_for(fast_arrived.wait(), timeout=10)
            assert release.is_set() is False and waiting["done"] == 0
        finally:
            release.set()
        await delivering
        await worker.deliver_due(lane="agents")


@asynccontextmanager
async def _serving(routes: dict[str, Callable[[web.Request], Awaitable[web.Response]]]) -> AsyncIterator[str]:
    """Serve agents' callback endpoints on a local port."""
    app = web.Application()
    for path, handler in routes.items():
        app.router.add_post(path, handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()
