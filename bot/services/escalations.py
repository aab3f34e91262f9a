"""Escalations: open one from an agent's request, find it, wait for its decision."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math

from tortoise.exceptions import IntegrityError

from bot import log_context
from bot.errors import Conflict, Invalid, NotFound, RateLimited
from bot.outbox import destinations
from bot.runtime import Runtime
from bot.schemas import EscalationIn
from bot.services import intake
from bot.services.agents import require_active
from bot.services.lookup import checked_id
from bot.services.routing import route
from models import Agent, Escalation
from models.enums import OPEN_STATUSES, DecidedBy, Status

log = logging.getLogger(__name__)
MAX_WAIT_SECONDS = 60
# Escalations looked up per query when checking which watched ones were decided by another replica.
WAKE_BATCH = 500


def request_hash(body: EscalationIn) -> str:
    """Fingerprint a request body, so a replay can be told from a different request."""
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def create(
    rt: Runtime, *, agent: Agent, body: EscalationIn, idempotency_key: str | None
) -> tuple[Escalation, bool]:
    """Open an escalation (or return the one this idempotency key already opened)."""
    require_active(agent)
    fingerprint = request_hash(body)
    if idempotency_key is not None:
        existing = await _replay(agent, idempotency_key, fingerprint)
        if existing is not None:
            return existing, False
    if body.callback_url is not None:
        await destinations.check_destination(
            body.callback_url, allow_private=rt.settings.council_allow_private_callbacks
        )
    body.check_deadline()
    chosen = await route(
        agent=agent,
        kind=body.kind,
        category=body.category,
        risk=body.risk,
        amount=body.amount,
        currency=body.action.currency if body.action else None,
    )
    try:
        escalation, started_storm = await intake.open_escalation(
            agent=agent,
            body=body,
            chosen=chosen,
            idempotency_key=idempotency_key,
            fingerprint=fingerprint,
        )
    except IntegrityError:
        # Another request with the same idempotency key won the race; answer as a replay.
        if idempotency_key is None:
            raise
        existing = await _replay(agent, idempotency_key, fingerprint)
        if existing is None:
            raise
        return existing, False
    rt.after_commit(decided=escalation.public_id if escalation.status not in OPEN_STATUSES else None)
    _count_opened(rt, escalation, started_storm=started_storm)
    council = chosen.council.name if chosen.council else None
    with log_context.bind(escalation=escalation.public_id, council=council):
        log.info(
            "escalation opened: %s, %s (policy %s)",
            escalation.kind,
            escalation.status,
            chosen.policy or "defaults",
        )
    return escalation, True


def _count_opened(rt: Runtime, escalation: Escalation, *, started_storm: bool) -> None:
    rt.metrics.opened(escalation.kind)
    if started_storm:
        rt.metrics.storms_started.inc()
    if escalation.status not in OPEN_STATUSES:
        # Closed as it opened: a notice is posted; an approval decided by its policy and mandate.
        decided_by = None if escalation.status == Status.POSTED else DecidedBy.POLICY
        rt.metrics.closed(escalation, decided_by=decided_by)


async def _replay(agent: Agent, key: str, fingerprint: str) -> Escalation | None:
    existing = await Escalation.filter(agent=agent, idempotency_key=key).first()
    if existing is not None and existing.request_hash != fingerprint:
        raise Conflict(
            f"Idempotency-Key {key!r} was already used with a different body",
            code="idempotency_conflict",
            details={"escalation": existing.public_id},
        )
    return existing


async def get_for_agent(agent: Agent, public_id: str) -> Escalation:
    """Return the agent's own escalation; another agent's is reported as not found."""
    escalation = await Escalation.filter(public_id=checked_id(public_id), agent=agent).first()
    if escalation is None:
        raise NotFound(f"no escalation {public_id!r} for this agent")
    return escalation


async def wait_for_decision(rt: Runtime, *, agent: Agent, public_id: str, seconds: float) -> Escalation:
    """Return the escalation once it is no longer pending, when `seconds` have passed, or at a stop.

    A wait on a pending escalation holds one of this process's long-poll places, of which each agent
    has COUNCIL_LONG_POLLS_PER_AGENT and all agents COUNCIL_LONG_POLLS_TOTAL; past either it is 429.
    """
    escalation = await get_for_agent(agent, public_id)
    if escalation.status != Status.PENDING or seconds <= 0:
        return escalation
    loop = asyncio.get_running_loop()
    until = loop.time() + min(seconds, MAX_WAIT_SECONDS)
    _check_long_polls(rt, agent, now=loop.time())
    rt.long_polls.opened(agent.id, until)
    try:
        while (
            escalation.status == Status.PENDING
            and (left := until - loop.time()) > 0
            and not rt.decided.closing
        ):
            # Woken by a decision in this process at once, or by wake_decided for another replica's.
            await rt.decided.wait(public_id, within=left)
            escalation = await get_for_agent(agent, public_id)
    finally:
        rt.long_polls.closed(agent.id, until)
    return escalation


def _check_long_polls(rt: Runtime, agent: Agent, *, now: float) -> None:
    polls, settings = rt.long_polls, rt.settings
    if polls.count(agent.id) >= settings.council_long_polls_per_agent:
        raise RateLimited(
            f"agent {agent.name} already holds {polls.count(agent.id)} long polls open, its limit "
            "(COUNCIL_LONG_POLLS_PER_AGENT); retry when one ends, or read without wait",
            retry_after=_seconds_until(polls.soonest_end(agent.id), now),
        )
    if polls.count() >= settings.council_long_polls_total:
        raise RateLimited(
            f"Council already holds {polls.count()} long polls open, its limit "
            "(COUNCIL_LONG_POLLS_TOTAL); retry when one ends, or read without wait",
            retry_after=_seconds_until(polls.soonest_end(), now),
        )


def _seconds_until(moment: float, now: float) -> int:
    return max(1, math.ceil(moment - now))


async def wake_decided(rt: Runtime) -> None:
    """Wake this process's long polls on escalations decided elsewhere: one query for all of them."""
    watched = rt.decided.watched()
    for start in range(0, len(watched), WAKE_BATCH):
        decided = (
            await Escalation.filter(public_id__in=watched[start : start + WAKE_BATCH])
            .exclude(status=Status.PENDING)
            .values_list("public_id", flat=True)
        )
        for public_id in decided:
            rt.decided.notify(str(public_id))


def parse_wait(raw: str | None) -> float:
    """Read the `?wait=` query value: seconds from 0 to 60; absent is 0, empty is refused."""
    if raw is None:
        return 0.0
    try:
        seconds = float(raw)
    except ValueError:
        raise Invalid(
            "wait must be a number of seconds from 0 to 60",
            details=[{"field": "wait", "message": "not a number"}],
        ) from None
    if not 0 <= seconds <= MAX_WAIT_SECONDS or seconds != seconds:
        raise Invalid(
            "wait must be a number of seconds from 0 to 60",
            details=[{"field": "wait", "message": "out of range"}],
        )
    return seconds
