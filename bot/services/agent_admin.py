"""Agents from Slack: who may change one, and its limits.

Admins may change any agent; a chair, the agents of their council. Creating, rotating, pausing and
resuming go through `bot.services.agents` with `via="slack"`, which audits the change and says it in
the council channel; limits are changed here, the same way.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError

from bot.db import transaction
from bot.errors import Invalid
from bot.governance import LimitsSpec
from bot.services import admin, agents, announce, audit
from bot.services.agents import Credentials
from models import Agent, Council

# What `/council agent limits` may set; the rest of the mandate (storm control) is council.yml's.
LIMITS = ("max_amount", "auto_budget_24h", "rate_per_minute", "currency")
NO_LIMIT = {"none", "off", "-"}
_MONEY = re.compile(
    r"(?P<amount>(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]{1,15})(?:\.[0-9]{1,4})?)(?:\s*(?P<currency>[A-Za-z]{3}))?"
)


async def require_change(actor: str, name: str) -> Agent:
    """The agent, if `actor` may change it: an admin, or a chair of the agent's council."""
    agent = await agents.get(name)
    council = await Council.filter(id=agent.council_id).first() if agent.council_id else None
    await admin.require_change(actor, council.name if council else None)
    return agent


async def create(*, actor: str, name: str, owner: str, council: str | None, server_key: bytes) -> Credentials:
    await admin.require_change(actor, council)
    return await agents.create(
        name=name, owner=owner, council=council, server_key=server_key, actor=actor, via="slack"
    )


async def rotate(*, actor: str, name: str, server_key: bytes, now: bool) -> Credentials:
    await require_change(actor, name)
    grace = timedelta(0) if now else agents.ROTATION_GRACE
    return await agents.rotate(name=name, server_key=server_key, actor=actor, grace=grace, via="slack")


async def pause(*, actor: str, name: str, reason: str | None) -> Agent:
    await require_change(actor, name)
    return await agents.pause(name=name, reason=reason, actor=actor, via="slack")


async def resume(*, actor: str, name: str) -> Agent:
    await require_change(actor, name)
    return await agents.resume(name=name, actor=actor, via="slack")


async def set_limits(*, actor: str, name: str, changes: dict[str, str]) -> LimitsSpec:
    """Change some of an agent's limits (`none` removes one); the others stay as they are."""
    agent = await require_change(actor, name)
    if not changes:
        raise Invalid("Give at least one limit to change, e.g. `max_amount=5000`.")
    merged: dict[str, Any] = dict(agent.limits)
    for key, text in changes.items():
        if key not in LIMITS:
            raise Invalid(f"`{key[:40]}` is not a limit Slack sets (these are: {', '.join(LIMITS)}).")
        merged.pop(key, None)
        if text.strip().lower() not in NO_LIMIT:
            merged[key] = _value(key, text.strip())
    try:
        limits = LimitsSpec.model_validate(merged)
    except ValidationError as error:
        problem = error.errors()[0]
        where = ".".join(str(part) for part in problem["loc"][:1])
        raise Invalid(f"`{where}` is not valid: {problem['msg']}.") from None
    stored = limits.model_dump(mode="json", exclude_none=True)
    async with transaction() as conn:
        before = dict(agent.limits)
        await Agent.filter(id=agent.id).using_db(conn).update(limits=stored)
        await audit.record(
            conn,
            actor_type="admin",
            actor_id=actor,
            action="agent.limits",
            subject=name,
            payload={"before": before, "after": stored, "via": "slack"},
        )
        detail = ", ".join(f"{key} {changes[key]}" for key in LIMITS if key in changes)
        channels = await announce.agent_channels(conn, agent)
        await announce.change(conn, channels, actor=actor, action="agent.limits", subject=name, detail=detail)
    return limits


def _value(key: str, text: str) -> Any:
    """`5000`, `5,000.50`, `5000 EUR` for money; a whole number for the rate; a code for currency."""
    if key == "currency":
        return text.upper()
    if key == "rate_per_minute":
        if not re.fullmatch(r"[0-9]{1,9}", text):
            raise Invalid(f"`rate_per_minute={text[:20]}` is not a whole number of escalations a minute.")
        return int(text)
    found = _MONEY.fullmatch(text)
    if found is None:
        raise Invalid(f'`{key}={text[:30]}` is not an amount; write `{key}=5000` or `{key}="5000 EUR"`.')
    try:
        amount = Decimal(found["amount"].replace(",", ""))
    except InvalidOperation:
        raise Invalid(f"`{key}={text[:30]}` is not an amount.") from None
    shown = format(amount.normalize(), "f")
    if found["currency"]:
        return {"amount": shown, "currency": found["currency"].upper()}
    return shown
