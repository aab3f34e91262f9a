"""What `/council …` does: read the words, check who may, answer in one ephemeral message."""

from __future__ import annotations

import shlex

import yaml

from bot.errors import CouncilError, NotAnAdmin
from bot.services import admin_views, agents, config
from bot.slack.text import escape
from models import Setting

HELP = """*Council* — `/council <command>`
• `help` — this list
• `status` — pending approvals and open incidents
• `members [COUNCIL]` — each council's members: function, role, whether active, delegate
• `agents` (or `agent list`) — agents, their owners and whether they are paused
• `policies` — the routing policies in order, and the default route
• `decisions [N]` — the last N decisions (10 unless given, at most 50)
• `agent pause NAME [reason]` / `agent resume NAME` — the kill switch (admins)
• `export` — the configuration as council.yml (admins)
• `digest now` — the weekly digest (admins)"""
AGENT_USAGE = (
    "Use `/council agent list`, `/council agent pause NAME [reason]` or `/council agent resume NAME`."
)
# The export goes in one code block that fits a single Block Kit section (3,000 characters).
EXPORT_LIMIT = 3000
EXPORT_CUT = "_Cut short to fit in Slack; `council config export` prints the whole file._"
NO_DIGEST = "The weekly digest is not available yet."


async def is_admin(user: str) -> bool:
    """Whether the user is listed under `admins` in council.yml."""
    row = await Setting.filter(key="admins").first()
    return bool(row and isinstance(row.value, list) and user in row.value)


async def require_admin(user: str) -> None:
    """Refuse anyone who is not an admin."""
    if not await is_admin(user):
        raise NotAnAdmin("Only Council admins can do that (see `admins` in council.yml).")


async def run(*, text: str, user: str) -> str:
    """Run one /council command and return the ephemeral answer."""
    try:
        words = shlex.split(text)
    except ValueError as error:
        return f"I could not read that command: {escape(str(error))}. Try `/council help`."
    if not words or words[0].lower() == "help":
        return HELP
    try:
        return await _dispatch(words, user)
    except CouncilError as error:
        return escape(error.message)


async def _dispatch(words: list[str], user: str) -> str:
    head, rest = words[0].lower(), words[1:]
    if head == "status" and not rest:
        return await admin_views.status()
    if head == "agents" and not rest:
        return await admin_views.agents()
    if head == "members" and len(rest) <= 1:
        return await admin_views.members(rest[0] if rest else None)
    if head == "policies" and not rest:
        return await admin_views.policies()
    if head == "decisions" and len(rest) <= 1:
        return await admin_views.decisions(admin_views.read_count(rest))
    if head == "agent":
        return await _agent(rest, user)
    if head == "export" and not rest:
        await require_admin(user)
        return await _export()
    if [w.lower() for w in words] == ["digest", "now"]:
        await require_admin(user)
        return NO_DIGEST
    return f"I don't know `{escape(' '.join(words)[:100])}`. Try `/council help`."


async def _agent(words: list[str], user: str) -> str:
    verb = words[0].lower() if words else ""
    if verb == "list" and len(words) == 1:
        return await admin_views.agents()
    if (verb == "pause" and len(words) >= 2) or (verb == "resume" and len(words) == 2):
        await require_admin(user)
        status = "paused" if verb == "pause" else "active"
        reason = " ".join(words[2:]) or None
        agent = await agents.set_status(name=words[1], status=status, reason=reason, actor=user)
        return f"Agent *{escape(agent.name)}* is now {agent.status}."
    return AGENT_USAGE


async def _export() -> str:
    text = yaml.safe_dump(await config.export(), sort_keys=False, allow_unicode=True)
    # Escaped line by line, so a cut never splits an entity; a stray ``` must not end the block.
    lines = [escape(line).replace("```", "`\u200b`\u200b`") for line in text.splitlines()]
    head, fence = "council.yml as Council has it:\n```\n", "\n```"
    whole = "\n".join(lines)
    if len(head) + len(whole) + len(fence) <= EXPORT_LIMIT:
        return head + whole + fence
    room = EXPORT_LIMIT - len(head) - len(fence) - len(EXPORT_CUT) - 1
    kept: list[str] = []
    for line in lines:
        room -= len(line) + 1
        if room < 0:
            break
        kept.append(line)
    return head + "\n".join(kept) + fence + "\n" + EXPORT_CUT
