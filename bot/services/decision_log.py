"""The decision log: every decision with its votes and amounts, listed in Slack and exported as CSV.

The CSV has one row per vote; a decision nobody voted on (a policy's, say) has one row with empty
vote columns. Each value so has a cell of its own: a spreadsheet filters and pivots on it, and a
script reads it back without parsing anything inside a cell. A cell that a spreadsheet would run as
a formula starts with `'` instead (OWASP's advice against CSV injection).
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from tortoise.queryset import QuerySet

from bot.api_out import amount_text, utc_text
from bot.db import transaction
from bot.errors import NotFound
from bot.outbox.enqueue import enqueue
from bot.outbox.events import DecisionLogAsked
from bot.runtime import Runtime
from bot.services import audit
from bot.services.admin import require_admin
from models import Agent, Council, Decision, Escalation
from models.enums import ActorType

# What `outcome=` takes: how the escalation ended. A timeout rejects, and the escalation is expired.
OUTCOMES = ("approved", "rejected", "expired")
TALLY = ("approve", "reject", "abstain", "recuse", "waiting")
COLUMNS = (
    "escalation_id",
    "title",
    "agent",
    "council",
    "kind",
    "status",
    "outcome",
    "decided_by",
    "decided_at",
    "currency",
    "proposed_amount",
    "approved_amount",
    "executed_amount",
    *(f"tally_{key}" for key in TALLY),
    "reasons",
    "conditions",
    "message_link",
    "vote_user",
    "vote_on_behalf_of",
    "vote_function",
    "vote_choice",
    "vote_reason",
    "vote_conditions",
    "vote_approved_amount",
)
# Spreadsheets run a cell that starts with = + - @ (or tab, carriage return) as a formula. Such a
# cell gets a leading `'`; so does one that starts with `'` already, so that dropping one leading
# `'` from a cell that has one always gives back what was written.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")
_CHANNEL = re.compile(r"[CGD][A-Z0-9]{2,30}")
_TS = re.compile(r"[0-9]{9,11}\.[0-9]{6}")
_DOMAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,62}")
_WORKSPACE = re.compile(r"https://[a-z0-9.-]+\.[a-z]{2,}/?", re.IGNORECASE)


@dataclass(frozen=True)
class Filters:
    """Which decisions to list: one agent's, one outcome, decided on or after a day (UTC)."""

    agent: str | None = None
    outcome: str | None = None
    since: date | None = None


@dataclass(frozen=True)
class CastVote:
    """One vote as it stood when the escalation was decided."""

    user: str
    function: str
    choice: str
    reason: str | None
    conditions: str | None
    approved_amount: Decimal | None
    # A delegate's vote in an away member's seat: the member.
    on_behalf_of: str | None = None


@dataclass(frozen=True)
class Entry:
    """A decision as the log keeps it: the escalation, who decided and how, every vote."""

    public_id: str
    title: str
    agent: str
    council: str | None
    kind: str
    status: str  # how the escalation ended: approved, rejected or expired
    outcome: str  # the decision itself: approved or rejected
    decided_by: str
    decided_at: datetime
    currency: str | None
    proposed: Decimal | None
    approved: Decimal | None
    executed: Decimal | None
    tally: dict[str, int]
    reasons: list[str]
    conditions: str | None
    votes: list[CastVote]
    channel_id: str | None
    message_ts: str | None


@dataclass(frozen=True)
class Page:
    """The latest decisions that match, and how many match in all."""

    entries: list[Entry]
    total: int


async def latest(filters: Filters, *, count: int) -> Page:
    """The last `count` decisions that match, newest first; an unknown agent is refused."""
    matching = await _matching(filters)
    rows = await matching.order_by("-decided_at", "-id").limit(count).select_related("escalation")
    return Page(await _entries(rows), await matching.count())


async def log(*, since: date | None = None) -> list[Entry]:
    """Every decision (decided on or after `since`, UTC), oldest first."""
    matching = await _matching(Filters(since=since))
    return await _entries(await matching.order_by("decided_at", "id").select_related("escalation"))


async def ask_export(*, user: str, since: date | None, rt: Runtime | None = None) -> None:
    """Queue the decision log as a CSV file for the admin's DM; refuse anyone who is not an admin.

    With the runtime, the outbox worker is woken at once; without it, its next poll finds the row.
    """
    await require_admin(user)
    async with transaction() as conn:
        await enqueue(conn, DecisionLogAsked(user=user, since=since))
        await audit.record(
            conn,
            actor_type=ActorType.ADMIN,
            actor_id=user,
            action="decisions.exported",
            subject="decision log",
            payload={"since": since.isoformat() if since else None},
        )
    if rt is not None:
        rt.after_commit()


def start_of(day: date) -> datetime:
    """The first moment of a day, in UTC."""
    return datetime.combine(day, time.min, tzinfo=UTC)


async def _matching(filters: Filters) -> QuerySet[Decision]:
    query = Decision.all()
    if filters.agent is not None:
        agent = await Agent.filter(name=filters.agent).first()
        if agent is None:
            raise NotFound(await _no_such_agent(filters.agent))
        query = query.filter(escalation__agent_id=agent.id)
    if filters.outcome is not None:
        query = query.filter(escalation__status=filters.outcome)
    if filters.since is not None:
        query = query.filter(decided_at__gte=start_of(filters.since))
    return query


async def _no_such_agent(name: str) -> str:
    names = list(await Agent.all().order_by("name").values_list("name", flat=True))
    meant = difflib.get_close_matches(name.lower(), names, n=1, cutoff=0.6)
    guess = f" Did you mean `{meant[0]}`?" if meant else ""
    shown = name[:80].replace("`", "'")
    return f"There is no agent named `{shown}`.{guess} `/council agents` lists them."


async def _entries(rows: list[Decision]) -> list[Entry]:
    escalations = [row.escalation for row in rows]
    agent_ids = {e.agent_id for e in escalations}
    council_ids = {e.council_id for e in escalations if e.council_id is not None}
    agents = dict(await Agent.filter(id__in=agent_ids).values_list("id", "name")) if agent_ids else {}
    councils = dict(await Council.filter(id__in=council_ids).values_list("id", "name")) if council_ids else {}
    return [_entry(row, agents, councils) for row in rows]


def _entry(row: Decision, agents: dict[Any, Any], councils: dict[Any, Any]) -> Entry:
    escalation: Escalation = row.escalation
    return Entry(
        public_id=escalation.public_id,
        title=escalation.title,
        agent=str(agents.get(escalation.agent_id, "")),
        council=councils.get(escalation.council_id) if escalation.council_id is not None else None,
        kind=str(escalation.kind),
        status=str(escalation.status),
        outcome=str(row.outcome),
        decided_by=str(row.decided_by),
        decided_at=row.decided_at,
        currency=escalation.currency,
        proposed=escalation.amount,
        approved=row.approved_amount,
        executed=escalation.executed_amount,
        tally={str(key): int(value) for key, value in row.tally.items()},
        reasons=[str(reason) for reason in row.reasons],
        conditions=row.conditions,
        votes=[_vote(vote) for vote in row.votes],
        channel_id=escalation.channel_id,
        message_ts=escalation.message_ts,
    )


def _vote(stored: dict[str, Any]) -> CastVote:
    amount = stored.get("approved_amount")
    return CastVote(
        user=str(stored.get("user", "")),
        on_behalf_of=stored.get("on_behalf_of"),
        function=str(stored.get("function", "")),
        choice=str(stored.get("choice", "")),
        reason=stored.get("reason"),
        conditions=stored.get("conditions"),
        approved_amount=Decimal(str(amount)) if amount is not None else None,
    )


def permalink(workspace_url: str | None, channel: str | None, ts: str | None) -> str | None:
    """The message's address in Slack, built from the workspace URL (auth.test's `url`), or None."""
    if not (workspace_url and channel and ts and _WORKSPACE.fullmatch(workspace_url)):
        return None
    if not (_CHANNEL.fullmatch(channel) and _TS.fullmatch(ts)):
        return None
    return f"{workspace_url.rstrip('/')}/archives/{channel}/p{ts.replace('.', '')}"


def workspace_of(team_domain: str | None) -> str | None:
    """The workspace URL from the `team_domain` every slash command carries (`acme` → acme.slack.com)."""
    if not team_domain or not _DOMAIN.fullmatch(team_domain):
        return None
    return f"https://{team_domain.lower()}.slack.com/"


def neutralised(cell: str) -> str:
    """A cell that a spreadsheet shows as text and never runs: `=1+1` is written `'=1+1`."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def csv_text(entries: list[Entry], *, workspace_url: str | None = None) -> str:
    """The log as CSV: a header, then one row per vote (one row for a decision without votes)."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL)
    writer.writerow(COLUMNS)
    for entry in entries:
        decision = _decision_cells(entry, workspace_url)
        votes: list[CastVote | None] = [*entry.votes] or [None]
        for vote in votes:
            writer.writerow([neutralised(cell) for cell in [*decision, *_vote_cells(vote)]])
    return out.getvalue()


def _decision_cells(entry: Entry, workspace_url: str | None) -> list[str]:
    return [
        entry.public_id,
        entry.title,
        entry.agent,
        entry.council or "",
        entry.kind,
        entry.status,
        entry.outcome,
        entry.decided_by,
        utc_text(entry.decided_at),
        entry.currency or "",
        _amount(entry.proposed),
        _amount(entry.approved),
        _amount(entry.executed),
        *(str(entry.tally[key]) if key in entry.tally else "" for key in TALLY),
        "\n".join(entry.reasons),
        entry.conditions or "",
        permalink(workspace_url, entry.channel_id, entry.message_ts) or "",
    ]


def _vote_cells(vote: CastVote | None) -> list[str]:
    if vote is None:
        return [""] * 7
    return [
        vote.user,
        vote.on_behalf_of or "",
        vote.function,
        vote.choice,
        vote.reason or "",
        vote.conditions or "",
        _amount(vote.approved_amount),
    ]


def _amount(amount: Decimal | None) -> str:
    return amount_text(amount) if amount is not None else ""
