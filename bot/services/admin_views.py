"""What the read-only `/council` commands show: status, agents, members, policies, decisions."""

from __future__ import annotations

import re
from datetime import datetime

from bot.council_file import DEFAULT_DEADLINE, RouteSpec, is_name
from bot.errors import Invalid
from bot.governance.policy import PolicyMatch
from bot.governance.rules import Rule
from bot.services import routing
from bot.slack.home_view import channel
from bot.slack.text import escape, mention, money, safe
from models import Agent, Council, Decision, Escalation, Member

# Slack cuts a message's text at 40,000 characters; stay clear of it and end on a whole line.
MAX_ANSWER = 39_000
DECISIONS_DEFAULT, DECISIONS_MAX = 10, 50


def fit(lines: list[str], limit: int = MAX_ANSWER) -> str:
    """Join lines, keeping only whole lines within `limit` and saying how many were left out."""
    kept: list[str] = []
    size = 0
    for i, line in enumerate(lines):
        note = f"\n… and {len(lines) - i} more lines."
        if size + len(line) + 1 + len(note) > limit:
            return "\n".join(kept) + note
        kept.append(line)
        size += len(line) + 1
    return "\n".join(kept)


def utc(moment: datetime | None) -> str:
    """Write a time the same way in every answer."""
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "no deadline"


async def status() -> str:
    """Pending approvals (soonest deadline first, up to 10) and the count of open incidents."""
    total = await Escalation.filter(status="pending").count()
    pending = await Escalation.filter(status="pending").order_by("deadline", "id").limit(10)
    incidents = await Escalation.filter(status__in=("open", "acknowledged")).count()
    if not total and not incidents:
        return "Nothing is waiting for the council."
    shown = f" (the {len(pending)} soonest due below)" if total > len(pending) else ""
    lines = [f"*{total}* approvals pending{shown}, *{incidents}* incidents open."]
    for escalation in pending:
        lines.append(
            f"• `{escalation.public_id}` {safe(escalation.title, 200)} — due {utc(escalation.deadline)}"
        )
    return fit(lines)


async def agents() -> str:
    """Every agent with its accountable owner and whether it is paused."""
    rows = await Agent.all().order_by("name")
    if not rows:
        return "No agents yet. Create one with `council agent create NAME --owner U…`."
    return fit(
        [
            f"• *{escape(a.name)}* — owner {mention(a.owner_user_id)}, {escape(a.status)}"
            + (f" ({safe(a.paused_reason, 300)})" if a.paused_reason else "")
            for a in rows
        ]
    )


async def members(council: str | None = None) -> str:
    """Each council's members: function, role, whether active, and any delegate."""
    if council and not is_name(council):
        return f"There is no council named `{safe(council, 80)}`. Try `/council members`."
    query = Council.filter(name=council) if council else Council.all()
    councils = await query.order_by("name")
    if not councils:
        if council:
            return f"There is no council named `{safe(council, 80)}`. Try `/council members`."
        return "No councils yet: apply a council.yml with `council config apply`."
    lines: list[str] = []
    for row in councils:
        seats = await Member.filter(council=row).order_by("-active", "id")
        lines.append(
            f"*{escape(row.name)}* ({channel(row.channel_id)}) — {sum(m.active for m in seats)} active"
        )
        if not seats:
            lines.append("• no members")
        for member in seats:
            line = f"• {mention(member.user_id)} — {safe(member.function, 64)}, {escape(member.role)}"
            line += "" if member.active else " (inactive)"
            if member.delegate_user_id:
                line += f", delegate {mention(member.delegate_user_id)}"
            lines.append(line)
    return fit(lines)


def match_words(match: PolicyMatch) -> str:
    """Say which escalations a policy's `match` takes, e.g. 'kind approval, amount < 500'."""
    parts = [
        f"{key} {safe(str(value), 80)}"
        for key, value in (
            ("agent", match.agent),
            ("kind", match.kind),
            ("category", match.category),
            ("risk", match.risk),
            ("currency", match.currency),
        )
        if value is not None
    ]
    if match.amount_gte is not None:
        parts.append(f"amount ≥ {match.amount_gte:,}")
    if match.amount_lt is not None:
        parts.append(f"amount < {match.amount_lt:,}")
    return ", ".join(parts) or "everything"


def _route_words(spec: RouteSpec, fallback: RouteSpec, decide: str | None = None) -> str:
    if decide == "reject":
        return "reject at once"
    council = spec.council or fallback.council
    where = f"council *{escape(council)}*" if council else "the agent's council"
    rule = spec.rule or fallback.rule or Rule()
    deadline = spec.deadline or fallback.deadline or DEFAULT_DEADLINE
    route = f"{where}, rule {escape(rule.describe())}, deadline {deadline}, on timeout {spec.on_timeout}"
    if decide == "approve":
        # The mandate (hard cap, 24 h auto budget) can still send it to the council.
        return f"approve at once within the agent's mandate, otherwise {route}"
    return route


async def policies() -> str:
    """The policies in the order they are tried, then the default route."""
    specs = await routing.policies()
    fallback = await routing.defaults()
    lines = ["Policies, first match wins:"] if specs else ["No policies: every escalation takes the default."]
    for number, policy in enumerate(specs, start=1):
        lines.append(
            f"{number}. *{escape(policy.name)}* — when {match_words(policy.match)} → "
            + _route_words(policy, fallback, policy.decide)
        )
    lines.append("Otherwise (default): " + _route_words(fallback, fallback))
    return fit(lines)


def read_count(words: list[str]) -> int:
    """Read `decisions [N]`: 10 when absent, at most 50."""
    if not words:
        return DECISIONS_DEFAULT
    if not re.fullmatch(r"[0-9]{1,6}", words[0]) or int(words[0]) < 1:
        raise Invalid(f"`{words[0][:20]}` is not a number of decisions; try `/council decisions 20`.")
    return min(int(words[0]), DECISIONS_MAX)


def tally_words(tally: dict[str, int]) -> str:
    """Say a stored tally in words; a decision taken without a vote has none."""
    if not tally:
        return "no vote"
    shown = [f"{tally.get(k, 0)} {k}" for k in ("approve", "reject", "abstain")]
    shown += [f"{tally[k]} {k}" for k in ("recuse", "waiting") if tally.get(k)]
    return ", ".join(shown)


async def decisions(count: int = DECISIONS_DEFAULT) -> str:
    """The last decisions, newest first: id, title, outcome, who decided, when, the tally."""
    rows = await Decision.all().order_by("-decided_at", "-id").limit(count).select_related("escalation")
    if not rows:
        return "No decisions yet."
    lines = [f"The last {len(rows)} decisions, newest first:"]
    for decision in rows:
        escalation = decision.escalation
        amount = (
            f" ({money(escalation.amount, escalation.currency)})" if escalation.amount is not None else ""
        )
        lines.append(
            f"• `{escalation.public_id}` {safe(escalation.title, 200)}{amount} — *{escape(decision.outcome)}*"
            f" by {escape(decision.decided_by)}, {utc(decision.decided_at)} · {tally_words(decision.tally)}"
        )
    return fit(lines)
