"""The one line an admin's change from Slack leaves in the council channel: who did what, and why.

Pure. Names of agents, functions and reasons were typed by people (or an agent's owner): escaped.
"""

from __future__ import annotations

from typing import Any

from bot.outbox.events import AdminChanged
from bot.slack.text import mention, safe

REASON_LIMIT = 300
# What each audited action reads as after the actor's name; the subject follows in bold.
VERBS = {
    "agent.paused": "paused",
    "agent.active": "resumed",
    "agent.created": "created agent",
    "agent.rotated": "rotated the keys of",
    "agent.limits": "changed the limits of",
    "member.added": "added",
    "member.changed": "changed the seat of",
    "member.removed": "removed",
    "member.away": "marked away",
    "member.back": "marked back",
}


def line(event: AdminChanged) -> str:
    """`@ana paused *refund-bot*: runaway refunds`."""
    verb = VERBS.get(event.action, safe(event.action, 40))
    subject = event.subject
    shown = mention(subject) if event.action.startswith("member.") else f"*{safe(subject, 80)}*"
    detail = f": {safe(event.detail, REASON_LIMIT)}" if event.detail else ""
    delegate = f", delegate {mention(event.delegate)}" if event.delegate else ""
    return f"{mention(event.actor)} {verb} {shown}{detail}{delegate}"


def blocks(text: str) -> list[dict[str, Any]]:
    return [{"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}]
