"""Slack and council.yml agree: which changes made from Slack an apply of the file would undo.

Admins change seats and agents from Slack; council.yml is still the file a team reviews. Each apply
records how far the audit trail went (`config_applied_through`). A change made from Slack after that
is *drift*; an apply whose changes name its subject (the member, the agent) would undo it, so the CLI
names it and asks for `--force`, and `serve` keeps the database's state at start-up and logs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.council_file import CouncilFile
from bot.services import config
from bot.services.config import APPLIED_THROUGH, ApplyReport
from models import AuditEvent, Setting

# Audited actions made from Slack that council.yml also describes (a rotation or a pause it does not).
DESCRIBED = ("member.added", "member.changed", "member.removed", "member.away", "agent.limits")


@dataclass(frozen=True)
class SlackChange:
    """One change made from Slack since the last apply."""

    at: datetime
    actor: str
    action: str
    subject: str
    council: str | None

    def describe(self) -> str:
        where = f" on {self.council}" if self.council else ""
        return f"{self.at:%Y-%m-%d %H:%M} UTC {self.actor} {self.action} {self.subject}{where}"


@dataclass(frozen=True)
class Plan:
    """What an apply would do, and which changes from Slack it would undo."""

    report: ApplyReport
    undone: list[SlackChange]


async def since_last_apply() -> list[SlackChange]:
    """Changes made from Slack after the last apply, oldest first."""
    mark = await Setting.filter(key=APPLIED_THROUGH).first()
    after = int(mark.value) if mark and isinstance(mark.value, int) else 0
    events = await AuditEvent.filter(id__gt=after, action__in=DESCRIBED).order_by("id")
    return [
        SlackChange(
            at=event.at,
            actor=event.actor_id,
            action=event.action,
            subject=event.subject or "",
            council=(event.payload or {}).get("council"),
        )
        for event in events
        if (event.payload or {}).get("via") == "slack"
    ]


def undone_by(report: ApplyReport, changes: list[SlackChange]) -> list[SlackChange]:
    """The changes whose subject an apply's lines touch: applying would put it back as the file says."""
    touched = " ".join(report.changes)
    return [change for change in changes if change.subject and _names(touched, change.subject)]


async def plan(parsed: CouncilFile, *, source: str, allow_empty: bool, hint: str | None = None) -> Plan:
    """Work out an apply without making it (a dry run), and what from Slack it would undo."""
    extra = {"hint": hint} if hint else {}
    report = await config.apply(parsed, dry_run=True, allow_empty=allow_empty, source=source, **extra)
    return Plan(report, undone_by(report, await since_last_apply()))


def _names(text: str, subject: str) -> bool:
    """Whether `subject` appears in `text` as a whole word (`refund-bot`, not `refund-bot-2`)."""
    start = 0
    while (found := text.find(subject, start)) != -1:
        before = text[found - 1] if found else " "
        end = found + len(subject)
        after = text[end] if end < len(text) else " "
        if not (before.isalnum() or before in "-_") and not (after.isalnum() or after in "-_"):
            return True
        start = found + 1
    return False
