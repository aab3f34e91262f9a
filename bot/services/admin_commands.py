"""What `/council …` does: read-only views for everyone, changes for admins."""

from __future__ import annotations

import shlex

from bot.errors import CouncilError, NotAnAdmin
from bot.services import agents
from bot.slack.text import escape
from models import Agent, Escalation, Setting

HELP = """*Council* — `/council <command>`
• `help` — this list
• `status` — open escalations and what awaits the council
• `agents` — agents, their owners and whether they are paused
• `agent pause NAME [reason]` / `agent resume NAME` — the kill switch (admins)"""


async def is_admin(user: str) -> bool:
    row = await Setting.filter(key="admins").first()
    return bool(row and user in row.value)


async def require_admin(user: str) -> None:
    if not await is_admin(user):
        raise NotAnAdmin("Only Council admins can do that (see `admins` in council.yml).")


async def run(*, text: str, user: str) -> str:
    """Run one /council command and return the ephemeral answer."""
    try:
        words = shlex.split(text)
    except ValueError as error:
        return f"I could not read that command: {escape(str(error))}. Try `/council help`."
    if not words or words[0] == "help":
        return HELP
    try:
        return await _dispatch(words, user)
    except CouncilError as error:
        return escape(error.message)


async def _dispatch(words: list[str], user: str) -> str:
    head, rest = words[0].lower(), words[1:]
    if head == "status":
        return await _status()
    if head == "agents":
        return await _agents()
    if head == "agent" and len(rest) >= 2 and rest[0] in ("pause", "resume"):
        await require_admin(user)
        status = "paused" if rest[0] == "pause" else "active"
        reason = " ".join(rest[2:]) or None
        agent = await agents.set_status(name=rest[1], status=status, reason=reason, actor=user)
        return f"Agent *{escape(agent.name)}* is now {agent.status}."
    return f"I don't know `{escape(' '.join(words))[:100]}`. Try `/council help`."


async def _status() -> str:
    pending = await Escalation.filter(status="pending").order_by("deadline").limit(10)
    incidents = await Escalation.filter(status__in=("open", "acknowledged")).count()
    if not pending and not incidents:
        return "Nothing is waiting for the council."
    lines = [f"*{len(pending)}* approvals pending, *{incidents}* incidents open."]
    for escalation in pending:
        due = escalation.deadline.strftime("%Y-%m-%d %H:%M UTC") if escalation.deadline else "no deadline"
        lines.append(f"• `{escalation.public_id}` {escape(escalation.title)} — due {due}")
    return "\n".join(lines)


async def _agents() -> str:
    rows = await Agent.all().order_by("name")
    if not rows:
        return "No agents yet. Create one with `council agent create NAME --owner U…`."
    return "\n".join(
        f"• *{escape(a.name)}* — owner <@{a.owner_user_id}>, {a.status}"
        + (f" ({escape(a.paused_reason)})" if a.paused_reason else "")
        for a in rows
    )
