"""What `/council` answers, in mrkdwn: help, status, agents, members, policies, decisions, export.

Pure: takes what `bot.services.admin` and `bot.services.routing` read. Everything from an agent or a
file is escaped here; answers stay within one Slack message.
"""

from __future__ import annotations

from bot.council_file import DEFAULT_DEADLINE, PolicySpec, RouteSpec
from bot.governance import PolicyMatch, Rule
from bot.governance.hours import WorkingHours
from bot.services.admin import AgentLine, Seats, Waiting
from bot.services.digest import Queued
from bot.services.people import Profile
from bot.services.storm_view import StormView
from bot.slack.text import channel, escape, mention, safe, utc

HELP = """*Council* — `/council <command>`
*Everyone*
• `help` — this list
• `status` — pending approvals, open incidents, dead deliveries, storms
• `members [COUNCIL]` — each council's members: function, role, whether active, away, delegate
• `agents` (or `agent list`) — agents, their owners and whether they are paused
• `policies` — the routing policies in order, and the default route
• `decisions [agent=NAME] [outcome=OUTCOME] [since=YYYY-MM-DD] [N]` — the last N decisions (20, at most 50)
• `me [hours=08:00-16:00]` — your working hours and timezone; set your own hours
*Admins, and chairs for their own council*
• `members add @user function=FUNCTION [role=chair] [council=NAME]` — seat a member
• `members remove @user [council=NAME]` — unseat a member (past votes are kept)
• `members away @user until=YYYY-MM-DD delegate=@user [council=NAME]` — their delegate votes in their seat
• `members back @user [council=NAME]` — asks go to them again
• `agent create NAME owner=@user [council=NAME]` — a new agent; its key is shown to you once
• `agent rotate NAME [now]` — new key and secret; the old ones work for 24 h (`now`: revoked at once)
• `agent pause NAME [reason]` / `agent resume NAME` — the kill switch
• `agent limits NAME max_amount=… auto_budget_24h=… rate_per_minute=…` — the agent's mandate
• `outbox` / `outbox retry ID|all` — deliveries by state; send dead ones again
*Admins*
• `export` — the configuration as council.yml
• `export decisions [since=YYYY-MM-DD]` — the whole decision log as CSV, sent to your DM
• `digest now [COUNCIL]` — post last week's digest to the council's channel now"""
AGENT_USAGE = (
    "Use `/council agent list`, `agent create NAME owner=@user`, `agent rotate NAME [now]`, "
    "`agent pause NAME [reason]`, `agent resume NAME` or `agent limits NAME max_amount=…`."
)
MEMBERS_USAGE = "Use `/council members [COUNCIL]`."
EXPORT_USAGE = "Use `/council export` (council.yml) or `/council export decisions [since=YYYY-MM-DD]` (CSV)."
DIGEST_USAGE = "Use `/council digest now` (every council) or `/council digest now COUNCIL`."
# Slack cuts a message's text at 40,000 characters; stay clear of it and end on a whole line.
MAX_ANSWER = 39_000
# The export goes in one code block that fits a single Block Kit section (3,000 characters).
EXPORT_LIMIT = 3000
EXPORT_CUT = "_Cut short to fit in Slack; `council config export` prints the whole file._"


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


def unknown(words: list[str], meant: str | None = None) -> str:
    """Answer a command Council does not know: what it most likely meant, then the help."""
    shown = f"I don't know `{escape(' '.join(words)[:100])}`."
    guess = f" Did you mean `{meant}`?" if meant else ""
    return f"{shown}{guess}\n\n{HELP}"


def unreadable(problem: str) -> str:
    """Answer a command whose quoting could not be read."""
    return f"I could not read that command: {escape(problem)}. Try `/council help`."


def status(waiting: Waiting) -> str:
    """Pending approvals (soonest deadline first), the count of open incidents, and dead deliveries."""
    dead = _dead_line(waiting.dead) + [_storm_line(view) for view in waiting.storms]
    if not waiting.approvals and not waiting.incidents:
        return "\n".join(["Nothing is waiting for the council.", *dead])
    shown = (
        f" (the {len(waiting.soonest)} soonest due below)" if waiting.approvals > len(waiting.soonest) else ""
    )
    lines = [f"*{waiting.approvals}* approvals pending{shown}, *{waiting.incidents}* incidents open."]
    lines += [
        f"• `{item.public_id}` {safe(item.title, 200)} — due {utc(item.deadline)}" for item in waiting.soonest
    ]
    return fit([*dead, *lines])


def _storm_line(view: StormView) -> str:
    """Say that an agent is storming a council, and where its grouped message is."""
    where = f" in {channel(view.channel_id)}" if view.channel_id else ""
    paused = " (agent paused)" if view.agent_paused else ""
    return (
        f":cloud_with_lightning: Storm{where}: *{escape(view.agent)}*{paused} — {view.escalations} "
        f"escalations since {utc(view.started_at)}, {view.waiting} waiting: act on them from its "
        "grouped message."
    )


def _dead_line(dead: dict[str, int]) -> list[str]:
    """Say how many deliveries were given up on, and how an admin sends them again."""
    parts = [f"{n} to Slack" if target == "slack" else f"{n} to agents" for target, n in dead.items() if n]
    if not parts:
        return []
    total = sum(dead.values())
    noun = "delivery is" if total == 1 else "deliveries are"
    return [
        f":warning: *{total}* {noun} dead ({', '.join(parts)}): see `/council outbox`, then "
        "`/council outbox retry ID` or `retry all` (on the server: `council outbox list --dead`)."
    ]


def agents(rows: list[AgentLine]) -> str:
    """Every agent with its accountable owner and whether it is paused."""
    if not rows:
        return "No agents yet. Create one with `council agent create NAME --owner U…`."
    return fit(
        [
            f"• *{escape(a.name)}* — owner {mention(a.owner)}, {escape(a.status)}"
            + (f" ({safe(a.paused_reason, 300)})" if a.paused_reason else "")
            for a in rows
        ]
    )


def agent_status(name: str, status: str) -> str:
    """Confirm a pause or resume."""
    return f"Agent *{escape(name)}* is now {escape(status)}."


def members(councils: list[Seats]) -> str:
    """Each council's members: function, role, whether active, and any delegate."""
    if not councils:
        return "No councils yet: apply a council.yml with `council config apply`."
    lines: list[str] = []
    for council in councils:
        active = sum(seat.active for seat in council.seats)
        lines.append(f"*{escape(council.name)}* ({channel(council.channel_id)}) — {active} active")
        if not council.seats:
            lines.append("• no members")
        for seat in council.seats:
            line = f"• {mention(seat.user)} — {safe(seat.function, 64)}, {escape(seat.role)}"
            line += "" if seat.active else " (inactive)"
            if seat.away_until is not None:
                line += f", away until {seat.away_until.isoformat()}"
            if seat.delegate:
                line += f", delegate {mention(seat.delegate)}"
            lines.append(line)
    return fit(lines)


def match_words(match: PolicyMatch) -> str:
    """Say which escalations a policy's `match` takes, e.g. 'kind approval, amount < 500'."""
    given = (
        ("agent", match.agent),
        ("kind", match.kind),
        ("category", match.category),
        ("risk", match.risk),
        ("currency", match.currency),
    )
    parts = [f"{key} {safe(str(value), 80)}" for key, value in given if value is not None]
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


def policies(specs: list[PolicySpec], fallback: RouteSpec) -> str:
    """The policies in the order they are tried, then the default route."""
    lines = ["Policies, first match wins:"] if specs else ["No policies: every escalation takes the default."]
    for number, policy in enumerate(specs, start=1):
        lines.append(
            f"{number}. *{escape(policy.name)}* — when {match_words(policy.match)} → "
            + _route_words(policy, fallback, policy.decide)
        )
    lines.append("Otherwise (default): " + _route_words(fallback, fallback))
    return fit(lines)


def tally_words(tally: dict[str, int]) -> str:
    """Say a stored tally in words; a decision taken without a vote has none."""
    if not tally:
        return "no vote"
    shown = [f"{tally.get(k, 0)} {k}" for k in ("approve", "reject", "abstain")]
    shown += [f"{tally[k]} {k}" for k in ("recuse", "waiting") if tally.get(k)]
    return ", ".join(shown)


def export(text: str) -> str:
    """council.yml in one code block, cut on a whole line when it would not fit."""
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


def digest_refusal(admins: list[str]) -> str:
    """Who may post the digest on request, for someone who may not."""
    who = ", ".join(mention(user) for user in admins) or "nobody yet (council.yml lists no `admins`)"
    return f"Only Council admins can post the digest now: {who}. It is posted weekly on its own."


def digest_queued(queued: list[Queued]) -> str:
    """What `/council digest now` set going."""
    if not queued:
        return "There is no council to post a digest for yet."
    lines = [
        f"Posting the digest for week {q.week} of *{escape(q.council)}* to {channel(q.channel)}."
        for q in queued
    ]
    return fit([*lines, "It arrives in a moment; the chart follows in its thread."])


ME_USAGE = (
    "Use `/council me` to see your working hours, or `/council me hours=08:00-16:00` to set them "
    "(`hours=22:00-06:00` overnight, `hours=default` for 09:00–18:00)."
)
WAITS_FOR_HOURS = (
    "Reminders and the weekly pulse wait for your working hours, unless a deadline is less than an hour away."
)


def _hours(hours: WorkingHours) -> str:
    start, end = hours.text.split("-")
    return f"{start}–{end}"


def _timezone(profile: Profile) -> str:
    if profile.timezone_known:
        return f"*{escape(profile.timezone)}* (from your Slack profile)"
    return "*UTC* until Council reads the timezone in your Slack profile (it does before your next reminder)"


def me(profile: Profile) -> str:
    """What `/council me` answers: the person's hours and timezone, and how to change them."""
    whose = "your own" if profile.own_hours else "the default"
    return "\n".join(
        [
            f"Your working hours: *{_hours(profile.hours)}* ({whose}), in {_timezone(profile)}.",
            WAITS_FOR_HOURS,
            "Change them with `/council me hours=08:00-16:00` (`hours=22:00-06:00` overnight, "
            "`hours=default` for 09:00–18:00).",
        ]
    )


def hours_set(profile: Profile) -> str:
    """What `/council me hours=…` answers once the hours are set."""
    return "\n".join(
        [f"Your working hours are now *{_hours(profile.hours)}*, in {_timezone(profile)}.", WAITS_FOR_HOURS]
    )
