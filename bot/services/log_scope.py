"""Bind an escalation's public id, agent and council to the log lines written while working on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from tortoise.backends.base.client import BaseDBAsyncClient

from bot import log_context
from models import Agent, Escalation
from models.escalation import is_public_id

NAMES = ("public_id", "agent__name", "council__name")


@asynccontextmanager
async def about(
    *,
    public_id: str | None = None,
    escalation_id: int | None = None,
    agent: Agent | None = None,
    conn: BaseDBAsyncClient | None = None,
) -> AsyncIterator[None]:
    """Bind the escalation's id, agent and council to every line logged inside the block.

    `agent`: the caller, whose name is bound whoever's escalation the id names, and whose own
    escalations alone are looked up. Nothing is looked up when the block is already bound to it.
    """
    found: dict[str, str] = {}
    if public_id is not None and not is_public_id(public_id):
        public_id = None  # an id that cannot exist is not worth a line, nor safe to put in one
    if not _bound_to(public_id) and (public_id is not None or escalation_id is not None):
        query = Escalation.filter(public_id=public_id) if public_id else Escalation.filter(id=escalation_id)
        if agent is not None:
            query = query.filter(agent_id=agent.id)
        rows = await query.using_db(conn).limit(1).values(*NAMES)
        found = _fields(rows[0]) if rows else {}
    fields: dict[str, str | None] = {"escalation": public_id, **found}
    if agent is not None:
        fields["agent"] = agent.name
    with log_context.bind(**fields):
        yield


async def names_by_id(escalation_ids: Iterable[int | None]) -> dict[int, dict[str, str]]:
    """Return the fields `log_context.bind` takes for each escalation, in one query."""
    wanted = {each for each in escalation_ids if each is not None}
    if not wanted:
        return {}
    rows = await Escalation.filter(id__in=list(wanted)).values("id", *NAMES)
    return {int(row["id"]): _fields(row) for row in rows}


def _bound_to(public_id: str | None) -> bool:
    bound = log_context.current()
    return public_id is not None and bound.get("escalation") == public_id and "agent" in bound


def _fields(row: dict[str, object]) -> dict[str, str]:
    named = {"escalation": row["public_id"], "agent": row["agent__name"], "council": row["council__name"]}
    return {name: str(value) for name, value in named.items() if value is not None}
