"""Agent API routes: open an escalation, read it (long-poll), and who am I."""

from __future__ import annotations

import re

from aiohttp import web

from bot.app_keys import RUNTIME
from bot.errors import Invalid
from bot.schemas import EscalationIn, EscalationPatch, ExecutionIn, WithdrawIn
from bot.services import agents, amendments, escalations, execution
from bot.services.serialize import load_escalation_json
from handlers.api.body import read_json, validate
from models import Council

IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


async def create_escalation(request: web.Request) -> web.Response:
    agent = await agents.authenticate(request.headers.get("Authorization"))
    key = request.headers.get("Idempotency-Key")
    if key is not None and not IDEMPOTENCY_KEY.match(key):
        raise Invalid(
            "Idempotency-Key must be 1–255 visible ASCII characters",
            details=[{"field": "Idempotency-Key", "message": "invalid header"}],
        )
    body = validate(EscalationIn, await read_json(request))
    escalation, created = await escalations.create(
        request.app[RUNTIME], agent=agent, body=body, idempotency_key=key
    )
    return web.json_response(await load_escalation_json(escalation), status=201 if created else 200)


async def get_escalation(request: web.Request) -> web.Response:
    agent = await agents.authenticate(request.headers.get("Authorization"))
    wait = escalations.parse_wait(request.query.get("wait"))
    public_id = request.match_info["id"]
    escalation = await escalations.wait_for_decision(
        request.app[RUNTIME], agent=agent, public_id=public_id, seconds=wait
    )
    return web.json_response(await load_escalation_json(escalation))


async def amend_escalation(request: web.Request) -> web.Response:
    agent = await agents.authenticate(request.headers.get("Authorization"))
    patch = validate(EscalationPatch, await read_json(request))
    escalation = await amendments.amend(
        request.app[RUNTIME], agent=agent, public_id=request.match_info["id"], patch=patch
    )
    return web.json_response(await load_escalation_json(escalation))


async def withdraw_escalation(request: web.Request) -> web.Response:
    agent = await agents.authenticate(request.headers.get("Authorization"))
    body = validate(WithdrawIn, await read_json(request)) if request.body_exists else WithdrawIn()
    escalation = await amendments.withdraw(
        request.app[RUNTIME], agent=agent, public_id=request.match_info["id"], body=body
    )
    return web.json_response(await load_escalation_json(escalation))


async def report_execution(request: web.Request) -> web.Response:
    agent = await agents.authenticate(request.headers.get("Authorization"))
    body = validate(ExecutionIn, await read_json(request))
    escalation = await execution.report(
        request.app[RUNTIME], agent=agent, public_id=request.match_info["id"], body=body
    )
    return web.json_response(await load_escalation_json(escalation))


async def me(request: web.Request) -> web.Response:
    agent = await agents.authenticate(request.headers.get("Authorization"))
    council = await Council.filter(id=agent.council_id).first() if agent.council_id else None
    return web.json_response(
        {
            "name": agent.name,
            "owner": agent.owner_user_id,
            "council": council.name if council else None,
            "status": agent.status,
            "paused_reason": agent.paused_reason,
            "limits": agent.limits,
        }
    )
