"""The /council slash command: read its words, call one service, answer privately."""

from __future__ import annotations

import re
import shlex
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.errors import Invalid
from bot.runtime import Runtime
from bot.services import admin, agents, digest, people, routing
from bot.slack import admin_views

DECISIONS_DEFAULT, DECISIONS_MAX = 10, 50
Command = Callable[[list[str], str], Awaitable[str]]


async def council(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, runtime: Runtime) -> None:
    await ack()
    answered = await answer(command.get("text", ""), command["user_id"], runtime)
    await respond(text=answered, response_type="ephemeral")


async def answer(text: str, user: str, rt: Runtime | None = None) -> str:
    """Run one /council command and return the ephemeral answer; a refusal is raised, not answered."""
    try:
        words = shlex.split(text)
    except ValueError as error:
        return admin_views.unreadable(str(error))
    if not words or words[0].lower() == "help":
        return admin_views.HELP
    if words[0].lower() == "digest":
        return await _digest(words[1:], user, rt)
    run = COMMANDS.get(words[0].lower())
    return await run(words[1:], user) if run is not None else admin_views.unknown(words)


def read_count(words: list[str]) -> int:
    """Read `decisions [N]`: 10 when absent, at most 50."""
    if not words:
        return DECISIONS_DEFAULT
    if len(words) > 1 or not re.fullmatch(r"[0-9]{1,6}", words[0]) or int(words[0]) < 1:
        raise Invalid(f"`{words[0][:20]}` is not a number of decisions; try `/council decisions 20`.")
    return min(int(words[0]), DECISIONS_MAX)


async def _status(rest: list[str], user: str) -> str:
    return admin_views.status(await admin.waiting()) if not rest else admin_views.unknown(["status", *rest])


async def _agents(rest: list[str], user: str) -> str:
    return admin_views.agents(await admin.agents()) if not rest else admin_views.unknown(["agents", *rest])


async def _members(rest: list[str], user: str) -> str:
    if len(rest) > 1:
        return admin_views.unknown(["members", *rest])
    return admin_views.members(await admin.councils(rest[0] if rest else None))


async def _policies(rest: list[str], user: str) -> str:
    if rest:
        return admin_views.unknown(["policies", *rest])
    return admin_views.policies(await routing.policies(), await routing.defaults())


async def _decisions(rest: list[str], user: str) -> str:
    return admin_views.decisions(await admin.decisions(read_count(rest)))


async def _agent(rest: list[str], user: str) -> str:
    verb = rest[0].lower() if rest else ""
    if verb == "list" and len(rest) == 1:
        return admin_views.agents(await admin.agents())
    if (verb == "pause" and len(rest) >= 2) or (verb == "resume" and len(rest) == 2):
        await admin.require_admin(user)
        if verb == "pause":
            changed = await agents.pause(name=rest[1], reason=" ".join(rest[2:]) or None, actor=user)
        else:
            changed = await agents.resume(name=rest[1], actor=user)
        return admin_views.agent_status(changed.name, changed.status)
    return admin_views.AGENT_USAGE


async def _export(rest: list[str], user: str) -> str:
    if rest:
        return admin_views.unknown(["export", *rest])
    return admin_views.export(await admin.export_yaml(user))


async def _digest(rest: list[str], user: str, rt: Runtime | None) -> str:
    if not rest or rest[0].lower() != "now" or len(rest) > 2:
        return admin_views.DIGEST_USAGE
    if not await admin.is_admin(user):
        # Answered, not raised: the refusal names the admins as mentions, which a raised one escapes.
        return admin_views.digest_refusal(await admin.admin_ids())
    return admin_views.digest_queued(
        await digest.post_now(rt, rest[1] if len(rest) > 1 else None, actor=user)
    )


async def _me(rest: list[str], user: str) -> str:
    if not rest:
        return admin_views.me(await people.profile(user))
    key, _, hours = " ".join(rest).partition("=")
    if key.strip().lower() != "hours" or not hours.strip():
        return admin_views.ME_USAGE
    await people.set_hours(user, hours)
    return admin_views.hours_set(await people.profile(user))


COMMANDS: dict[str, Command] = {
    "status": _status,
    "agents": _agents,
    "members": _members,
    "policies": _policies,
    "decisions": _decisions,
    "agent": _agent,
    "export": _export,
    "me": _me,
}
