"""Agent API routes: open an escalation, read it (long-poll), amend, withdraw, report, and who am I."""

from __future__ import annotations

import re

from aiohttp import web

from bot import log_context
from bot.api_out import EscalationOut
from bot.app_keys import RUNTIME
from bot.errors import Invalid
from bot.schemas import IDEMPOTENCY_KEY_PATTERN, EscalationIn, EscalationPatch, ExecutionIn, WithdrawIn
from bot.services import agents, amendments, escalations, execution, log_scope
from bot.services.serialize import load_escalation_out
from handlers.api.body import read_json, validate

IDEMPOTENCY_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)


async def create_escalation(request: web.Request) -> web.Response:
    agent = await agents.authenticate(request.headers.get("Authorization"))
    with log_context.bind(agent=agent.name):
        key = _idempotency_key(request)
        body = validate(EscalationIn, await read_json(request))
        escalation, created = await escalations.create(
            request.app[RUNTIME], agent=agent, body=body, idempotency_key=key
        )
        return _reply(await load_escalation_out(escalation), status=201 if created else 200)


async def get_escalation(request: web.Request) -> web.Response:
    agent = await agents.authenticate(request.headers.get("Authorization"))
    async with log_scope.about(public_id=request.match_info["id"], agent=agent):
        wait = escalations.parse_wait(_one_query_value(request, "wait"))
        escalation = await escalations.wait_for_decision(
            request.app[RUNTIME], agent=agent, public_id=request.match_info["id"], seconds=wait
        )
        return _reply(await load_escalation_out(escalation))


async def amend_escalation(request: web.Request) -> web.Response:
    agent = await agents.authenticate(request.headers.get("Authorization"))
    async with log_scope.about(public_id=request.match_info["id"], agent=agent):
        patch = validate(EscalationPatch, await read_json(request))
        escalation = await amendments.amend(
            request.app[RUNTIME], agent=agent, public_id=request.match_info["id"], patch=patch
        )
        return _reply(await load_escalation_out(escalation))


async def withdraw_escalation(request: web.Request) -> web.Response:
    agent = await agents.authenticate(request.headers.get("Authorization"))
    async with log_scope.about(public_id=request.match_info["id"], agent=agent):
        body = validate(WithdrawIn, await read_json(request)) if request.body_exists else WithdrawIn()
        escalation = await amendments.withdraw(
            request.app[RUNTIME], agent=agent, public_id=request.match_info["id"], body=body
        )
        return _reply(await load_escalation_out(escalation))


async def report_execution(request: web.Request) -> web.Response:
    agent = await agents.authenticate(request.headers.get("Authorization"))
    async with log_scope.about(public_id=request.match_info["id"], agent=agent):
        body = validate(ExecutionIn, await read_json(request))
        escalation = await execution.report(
            request.app[RUNTIME], agent=agent, public_id=request.match_info["id"], body=body
        )
        return _reply(await load_escalation_out(escalation))


async def me(request: web.Request) -> web.Response:
    agent = await agents.authenticate(request.headers.get("Authorization"))
    with log_context.bind(agent=agent.name):
        return web.json_response((await agents.describe(agent)).model_dump(mode="json"))


def _reply(answer: EscalationOut, *, status: int = 200) -> web.Response:
    return web.json_response(answer.as_json(), status=status)


def _idempotency_key(request: web.Request) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is not None and not IDEMPOTENCY_KEY.match(key):
        raise Invalid(
            "Idempotency-Key must be 1–255 visible ASCII characters",
            details=[{"field": "Idempotency-Key", "message": "invalid header"}],
        )
    return key


def _one_query_value(request: web.Request, name: str) -> str | None:
    values = request.query.getall(name, [])
    if len(values) > 1:
        raise Invalid(
            f"give {name} once, not {len(values)} times", details=[{"field": name, "message": "repeated"}]
        )
    return values[0] if values else None
