"""The /council slash command: read its words, call one service, answer privately.

Each subcommand is `async (words, user) -> answer` in a module of its group (`member_commands`,
`agent_commands`, `log_commands`, `outbox_admin`); this module splits the text, finds the subcommand
(or the one a typo most likely meant) and answers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.runtime import Runtime
from bot.services import admin, decision_log, digest, people, routing
from bot.slack import admin_views
from handlers.slack import agent_commands, log_commands, member_commands, outbox_admin
from handlers.slack.arguments import Words, nearest, split, words

Command = Callable[[Words, str], Awaitable[str]]


async def council(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, runtime: Runtime) -> None:
    await ack()
    # Slack sends the workspace's domain with each command: the decisions list links to messages by it.
    workspace = decision_log.workspace_of(command.get("team_domain"))
    answered = await answer(command.get("text", ""), command["user_id"], runtime, workspace_url=workspace)
    await respond(text=answered, response_type="ephemeral")


async def answer(text: str, user: str, rt: Runtime | None = None, *, workspace_url: str | None = None) -> str:
    """Run one /council command and return the ephemeral answer; a refusal is raised, not answered."""
    given = split(text)
    if not given or given[0].lower() == "help":
        return admin_views.HELP
    name, rest = given[0].lower(), given[1:]
    if name == "digest":
        return await _digest(rest, user, rt)
    if name == "agent":
        return await agent_commands.agent(words(rest), user, rt)
    if name == "decisions":
        return await log_commands.decisions(words(rest), user, workspace_url=workspace_url)
    if name == "export":
        return await _export(words(rest), user, rt)
    run = COMMANDS.get(name)
    if run is None:
        known = [*COMMANDS, "agent", "decisions", "export", "digest", "help"]
        return admin_views.unknown(given, nearest(name, known))
    return await run(words(rest), user)


async def _status(words: Words, user: str) -> str:
    words.allow("Use `/council status`.", positional=0)
    return admin_views.status(await admin.waiting())


async def _policies(words: Words, user: str) -> str:
    words.allow("Use `/council policies`.", positional=0)
    return admin_views.policies(await routing.policies(), await routing.defaults())


async def _export(words: Words, user: str, rt: Runtime | None) -> str:
    if words.positional[:1] == ["decisions"]:
        return await log_commands.export_decisions(Words(words.positional[1:], words.options), user, rt)
    words.allow(admin_views.EXPORT_USAGE, positional=0)
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


async def _me(words: Words, user: str) -> str:
    if not words.positional and not words.options:
        return admin_views.me(await people.profile(user))
    words.allow(admin_views.ME_USAGE, positional=0, options=("hours",))
    hours = words.option("hours") or ""
    if not hours.strip():
        return admin_views.ME_USAGE
    await people.set_hours(user, hours)
    return admin_views.hours_set(await people.profile(user))


COMMANDS: dict[str, Command] = {
    "status": _status,
    "agents": agent_commands.listing,
    "members": member_commands.members,
    "policies": _policies,
    "outbox": outbox_admin.outbox,
    "me": _me,
}
