"""The digest message: within Slack's Block Kit limits however large the council, nothing forged."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.services.digest_figures import Digest, MemberLoad, OpenItem, Week, changes, gini, look_at
from bot.slack import digest_message
from tests.fakeslack import validate_message_blocks


def _week(name: str, start: datetime, end: datetime) -> Week:
    return Week(week=name, start=start, end=end, complete=True)


def _digest(members: int, title: str) -> Digest:
    week = _week("2026-W48", datetime(2026, 11, 22, 23, tzinfo=UTC), datetime(2026, 11, 29, 23, tzinfo=UTC))
    before = _week("2026-W47", datetime(2026, 11, 15, 23, tzinfo=UTC), datetime(2026, 11, 22, 23, tzinfo=UTC))
    week.flow.escalations = 12
    week.flow.by_agent = {f"agent-{n}": 12 - n for n in range(12)}
    week.flow.oldest_open = OpenItem(id="esc_1", title=title, created_at=week.start, age_seconds=9 * 86400)
    loads = [
        MemberLoad(user=f"U{n:08d}", function="finance " * 10, asked=n + 1, voted=n) for n in range(members)
    ]
    week.flourishing.members = loads
    week.flourishing.asks = sum(m.asked for m in loads)
    week.flourishing.busiest, week.flourishing.busiest_share = (
        loads[-1].user,
        loads[-1].asked / week.flourishing.asks,
    )
    week.flourishing.not_taking_part = [m.user for m in loads]
    week.flourishing.gini = gini([m.asked for m in loads])
    return Digest(
        council="ai-council",
        timezone="Europe/Berlin",
        week=week,
        previous=before,
        changes=changes(week, before),
        look_at=look_at(week, before, {}),
    )


def test_a_large_council_still_fits_one_message() -> None:
    text, blocks = digest_message.render(_digest(200, "Refund"))
    assert validate_message_blocks(blocks) == []
    assert len(text) <= 3000 and len(blocks) <= 50
    shown = "\n".join(b["text"]["text"] for b in blocks if b["type"] == "section")
    # Twelve members' lines at most, five agents and a count of the rest.
    assert shown.count("out of hours,") == digest_message.MEMBERS_SHOWN
    assert "agent-0 12, agent-1 11, agent-2 10, agent-3 9, agent-4 8 and 7 more" in shown


def test_an_agents_title_cannot_ping_or_forge_a_link() -> None:
    _, blocks = digest_message.render(_digest(3, "<!channel> pay <http://evil.example|the bank>"))
    shown = "\n".join(b["text"]["text"] for b in blocks if b["type"] == "section")
    assert "<!channel>" not in shown and "<http" not in shown
    assert "&lt;!channel&gt; pay &lt;http://evil.example|the bank&gt;" in shown


def test_each_figure_reads_with_last_weeks_beside_it() -> None:
    _, blocks = digest_message.render(_digest(3, "Refund"))
    shown = "\n".join(b["text"]["text"] for b in blocks if b["type"] == "section")
    assert "• Escalations opened: *12* (↑ from 0)" in shown
    assert "• Votes asked: *6* (↑ from 0) across 3 members" in shown
    assert "unevenness (Gini, 0 = even) *0.22* (new)" in shown
    assert "• Decided before the deadline: *–*" in shown


def test_large_figures_read_with_separators_and_a_change_too_small_to_show_has_no_arrow() -> None:
    digest = _digest(3, "Refund")
    digest.week.flow.escalations, digest.previous.flow.escalations = 100_000, 95_000
    digest.week.flow.median_seconds, digest.previous.flow.median_seconds = 1_801.0, 1_795.0
    digest.changes = changes(digest.week, digest.previous)
    _, blocks = digest_message.render(digest)
    shown = "\n".join(b["text"]["text"] for b in blocks if b["type"] == "section")
    assert "• Escalations opened: *100,000* (↑ from 95,000)" in shown
    # 1,801 s and 1,795 s both read "30 min": an arrow between two equal figures would mislead.
    assert "median *30 min* (about the same)" in shown
