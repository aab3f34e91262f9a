"""Say a council's weekly digest in Slack: flow, flourishing, what to look at; and its chart.

Every figure is shown beside last week's with an arrow. Agent names and titles are escaped (they
come from agents); member ids are mentions, as Slack shows them by name.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.services.digest_figures import Digest, Week, duration
from bot.slack.digest_chart import ChartData
from bot.slack.text import clip, mention, safe

SECTION_LIMIT = 2900
AGENTS_SHOWN = 5
MEMBERS_SHOWN = 12
DOCS = "docs/digest.md"
CHART_COMMENT = "Escalations per day by where they stand, and time to decision."


def _count(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def _share(value: float | None) -> str:
    return "–" if value is None else f"{round(value * 100)} %"


def _time(value: float | None) -> str:
    return "–" if value is None else duration(value)


def _ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _pulse(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}/5"


Format = Callable[[float | None], str]


def changed(digest: Digest, key: str, show: Format = _count) -> str:
    """`*42* (↑ from 31)`: the figure in bold, then how it moved since last week."""
    change = digest.changes[key]
    now = f"*{show(change.now)}*"
    if change.now is None and change.before is None:
        return now
    if change.before is None:
        return f"{now} (new)"
    if change.now == change.before == 0:
        return now
    if change.arrow == "→":
        return f"{now} (same)"
    if show(change.now) == show(change.before):
        # Moved, but not by as much as the figure shows: an arrow beside two equal figures misleads.
        return f"{now} (about the same)"
    return f"{now} ({change.arrow} from {show(change.before)})"


def _span(week: Week, tz: str) -> str:
    zone = ZoneInfo(tz)
    first = week.start.astimezone(zone)
    last = datetime.fromtimestamp(week.end.timestamp() - 1, zone)
    so_far = "" if week.complete else " (so far)"
    return f"{first:%a %d %b} – {last:%a %d %b %Y}{so_far}"


def _flow(digest: Digest) -> list[str]:
    flow = digest.week.flow
    kinds = ", ".join(f"{n:,} {kind}{'' if n == 1 else 's'}" for kind, n in sorted(flow.by_kind.items()))
    agents = ", ".join(f"{safe(name, 60)} {n:,}" for name, n in list(flow.by_agent.items())[:AGENTS_SHOWN])
    more = len(flow.by_agent) - AGENTS_SHOWN
    if more > 0:
        agents += f" and {more} more"
    o = flow.outcomes
    lines = [
        f"• Escalations opened: {changed(digest, 'escalations')}" + (f": {kinds}" if kinds else ""),
        f"• By agent: {agents or 'none'}",
        (
            f"• Approvals closed — by the council {changed(digest, 'approved_by_council')} · "
            f"by policy {changed(digest, 'approved_by_policy')} · by an owner or admin "
            f"{o.approved_by_owner_or_admin:,} · rejected {changed(digest, 'rejected')} · "
            f"expired {changed(digest, 'expired')} · withdrawn {changed(digest, 'withdrawn')}"
        ),
        (
            f"• Time to decision ({flow.decided_by_people:,} decided by people) — median "
            f"{changed(digest, 'median_seconds', _time)} · p90 {changed(digest, 'p90_seconds', _time)}"
        ),
        f"• Decided before the deadline: {changed(digest, 'decided_before_deadline', _share)}",
    ]
    label = "Open at the week's end" if digest.week.complete else "Open now"
    backlog = f"• {label}: {changed(digest, 'backlog')}"
    if flow.oldest_open is not None:
        oldest = flow.oldest_open
        backlog += f" · oldest `{oldest.id}` “{safe(oldest.title, 80)}”, open {duration(oldest.age_seconds)}"
    lines.append(backlog)
    i = flow.incidents
    lines.append(
        f"• Incidents — opened {changed(digest, 'incidents_opened')} · owned {i.owned:,} · resolved "
        f"{i.resolved:,} · median time to own {changed(digest, 'median_seconds_to_own', _time)}"
    )
    paused = ", ".join(safe(name, 60) for name in flow.agents_paused) or "none"
    lines.append(
        f"• Executions beyond approval {changed(digest, 'execution_mismatches')} · agents paused: "
        f"{paused} · storms {changed(digest, 'storms')}"
    )
    return lines


def _flourishing(digest: Digest) -> list[str]:
    people = digest.week.flourishing
    lines = [f"• Votes asked: {changed(digest, 'asks')} across {len(people.members)} members"]
    spread = f"unevenness (Gini, 0 = even) {changed(digest, 'gini', _ratio)}"
    if people.busiest is not None:
        lines.append(
            f"• Busiest: {mention(people.busiest)} with {changed(digest, 'busiest_share', _share)} "
            f"of asks · {spread}"
        )
    elif people.asks:
        top = max(m.asked for m in people.members)
        tied = sum(1 for m in people.members if m.asked == top)
        lines.append(
            f"• Busiest: {tied} members tied, each asked {_share(people.busiest_share)} of asks · {spread}"
        )
    lines.append(
        f"• Asked outside their working hours: {changed(digest, 'out_of_hours')} · "
        f"reminders sent: {changed(digest, 'reminders')}"
    )
    shown = [m for m in people.members if m.asked or m.voted or m.reminders][:MEMBERS_SHOWN]
    for member in shown:
        function = f" ({safe(member.function, 40)})" if member.function else ""
        lines.append(
            f"    {mention(member.user)}{function}: asked {member.asked:,}, voted {member.voted:,}, "
            f"{member.out_of_hours:,} out of hours, {member.reminders:,} reminders"
        )
    if people.not_taking_part:
        who = ", ".join(mention(user) for user in people.not_taking_part)
        lines.append(f"• Asked but did not vote: {who}")
    if people.delegations:
        pairs = ", ".join(f"{mention(user)} → {mention(to)}" for user, to in people.delegations.items())
        lines.append(f"• Delegations: {pairs}")
    pulse = people.pulse
    if pulse.average is None:
        lines.append(f"• Pulse: {pulse.answered:,} answered; results show once at least three members answer")
    else:
        lines.append(f"• Pulse: {changed(digest, 'pulse_average', _pulse)} from {pulse.answered} answers")
    return lines


def _section(title: str, lines: list[str]) -> dict[str, Any]:
    return {
        "type": "section",
        "text": {"type": "mrkdwn", "text": clip(f"*{title}*\n" + "\n".join(lines), SECTION_LIMIT)},
    }


def render(digest: Digest) -> tuple[str, list[dict[str, Any]]]:
    """The digest message: its fallback text and Block Kit blocks."""
    week = digest.week
    look = [f"• {line}" for line in digest.look_at]
    heading = f"Weekly digest · {digest.council}"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": clip(heading, 150)}},
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": (
                        f"Week {week.week}: {_span(week, digest.timezone)}, {digest.timezone}; "
                        f"arrows compare with {digest.previous.week}"
                    ),
                }
            ],
        },
        _section("System flow", _flow(digest)),
        _section("Human flourishing", _flourishing(digest)),
        {"type": "divider"},
        _section("What to look at", look),
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"How each figure is computed: `{DOCS}`. The chart is in the thread.",
                }
            ],
        },
    ]
    text = clip(
        f"{heading}, week {week.week}: {week.flow.escalations} escalations; what to look at: "
        + "; ".join(digest.look_at),
        3000,
    )
    return text, blocks


def chart_data(digest: Digest) -> ChartData:
    chart = digest.week.chart
    return ChartData(
        title=f"{digest.council} · week {digest.week.week}",
        days=chart.days,
        outcomes=chart.series,
        wait_labels=list(chart.waits),
        wait_counts=list(chart.waits.values()),
    )


def chart_name(digest: Digest) -> str:
    return f"council-digest-{digest.council}-{digest.week.week}.png"
