"""The storm's grouped message and review page: what they say, within Slack's Block Kit limits."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bot.services.storm_actions import ReviewItem, ReviewPage
from bot.services.storm_view import StormView
from bot.slack import ids, storm_message, storm_review
from tests.fakeslack.blockkit import validate_message_blocks, validate_view

START = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
VIEW = StormView(
    storm_id=7,
    agent="refund-bot",
    owner="U0OWNER01",
    agent_paused=False,
    channel_id="C0COUNCIL",
    started_at=START,
    last_at=START + timedelta(minutes=4, seconds=10),
    ended_at=None,
    auto_paused_at=None,
    escalations=340,
    requested=Decimal("68000"),
    currency="USD",
    mixed_currencies=False,
    auto_approved=25,
    auto_approved_amount=Decimal("5000"),
    waiting=315,
    approved=0,
    rejected=0,
    expired=0,
    withdrawn=0,
)


def _actions(blocks: list[dict[str, object]]) -> list[str]:
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]  # type: ignore[index,union-attr]


def test_the_grouped_message_says_the_storm_in_one_line_and_names_the_owner() -> None:
    text, blocks = storm_message.render(VIEW)
    line = "refund-bot: 340 escalations in 5 min, $68,000 requested, 25 auto-approved ($5,000), 315 waiting"
    assert line in text and line in str(blocks)
    assert "<@U0OWNER01>" in str(blocks)
    assert _actions(blocks) == [ids.STORM_REJECT_ALL, ids.STORM_PAUSE, ids.STORM_REVIEW]
    assert validate_message_blocks(blocks) == []


def test_a_paused_agent_loses_the_pause_button_and_the_message_says_who_paused_it() -> None:
    _, blocks = storm_message.render(replace(VIEW, agent_paused=True, auto_paused_at=START))
    assert "Council paused refund-bot itself" in str(blocks) and "auto_pause_after" in str(blocks)
    assert ids.STORM_PAUSE not in _actions(blocks)


def test_the_final_summary_has_no_buttons_once_nothing_waits() -> None:
    ended = replace(VIEW, ended_at=START + timedelta(minutes=10), waiting=0, rejected=315, agent_paused=True)
    text, blocks = storm_message.render(ended)
    assert text.startswith("Storm over") and "final summary" in str(blocks)
    assert _actions(blocks) == []
    assert validate_message_blocks(blocks) == []


def test_several_currencies_are_not_summed_under_one_symbol() -> None:
    text, _ = storm_message.render(replace(VIEW, currency=None, mixed_currencies=True))
    assert "$" not in text and "68,000 (several currencies) requested" in text


def test_a_full_review_page_of_long_hostile_titles_stays_within_a_modals_limits() -> None:
    items = [
        ReviewItem(f"esc_{n:020d}", 1, "<!channel> " + "x" * 400, Decimal("1e9"), "USD", START, "approve")
        for n in range(10)
    ]
    view = storm_review.build(ReviewPage(7, "refund-bot", page=1, pages=3, pending=30, items=items))
    assert validate_view(view, surface="modal") == []
    assert "<!channel>" not in str(view["blocks"])
    assert _actions(view["blocks"]).count(ids.REVIEW_APPROVE) == 10
    assert {ids.REVIEW_PREVIOUS, ids.REVIEW_NEXT} <= set(_actions(view["blocks"]))


def test_the_escalated_dm_says_the_whole_storm_once_and_escapes_the_agents_name() -> None:
    hostile = replace(VIEW, agent="<!channel> bot")
    text = storm_message.escalated_dm(hostile, START + timedelta(hours=8))
    assert "<!channel>" not in text and "&lt;!channel&gt; bot" in text
    assert "340 escalations" in text and "315 waiting" in text and "<#C0COUNCIL>" in text
    assert "2026-12-02 17:00 UTC" in text and "only message you get for this storm" in text
