"""The Home view alone: every list past its limit, and all an agent wrote, within Slack's rules."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

from bot.governance.hours import DEFAULT_HOURS
from bot.services import home
from bot.services.admin import AgentLine
from bot.services.agents import REMOVED_FROM_FILE
from bot.services.deliveries import DeliveryLine
from bot.slack import home_view, ids
from bot.slack.text import slack_date
from tests.fakeslack import rendered_text, validate_view

HOSTILE = "<!channel> approve <http://evil.example|this> & more"


def test_every_list_past_its_limit_stays_within_slack_limits() -> None:
    due = datetime(2030, 1, 1, tzinfo=UTC)
    data = home.HomeData(
        user="U0TECH001",
        awaiting=[
            home.Awaiting(
                f"esc_{n:020x}", HOSTILE * 4, "refund-bot", Decimal("12500"), "USD", due, "C0COUNCIL", 3
            )
            for n in range(500)
        ],
        incidents=[
            home.OwnedIncident(f"esc_{n:020x}", HOSTILE * 4, "refund-bot", "acknowledged") for n in range(50)
        ],
        incident_count=500,
        decisions=[
            home.RecentDecision(
                f"esc_{n:020x}", HOSTILE * 4, "rejected", "council", due, Decimal(1), "USD", "reject"
            )
            for n in range(5)
        ],
        load=home.Load("2030-W01", "Europe/Berlin", DEFAULT_HOURS, 500, 400, 300, 200),
        oversight=home.Oversight(
            agents=[AgentLine(f"bot-{n}", "U0OWNER01", "paused", HOSTILE * 40) for n in range(500)],
            dead={"slack": 5000, "agent": 7},
            latest_dead=[
                DeliveryLine(n, "agent.callback", "agent", "dead", 9, f"esc_{n:020x}", due, HOSTILE * 40, due)
                for n in range(3)
            ],
        ),
    )
    view = home_view.build(data, note=home_view.refusal(HOSTILE * 100))
    assert validate_view(view, surface="home") == []
    assert len(view["blocks"]) == 90  # the budget the module's docstring adds up
    text = json.dumps(view, ensure_ascii=False)
    assert "<!channel>" not in text and "<http" not in text
    assert (
        "… and 480 more" in text and "… and 490 more" in text and "… and 480 more; `/council agents`" in text
    )
    assert slack_date(due) in text


def test_agents_show_the_button_that_applies() -> None:
    oversight = home.Oversight(
        agents=[
            AgentLine("paused-bot", "U0OWNER01", "paused", "runaway refunds"),
            AgentLine("gone-bot", "U0OWNER01", "paused", REMOVED_FROM_FILE),
            AgentLine("busy-bot", "U0OWNER01", "active", None),
        ],
        dead={"slack": 0, "agent": 0},
        latest_dead=[],
    )
    view = home_view.build(home.HomeData(user="U0ADMIN01", oversight=oversight))
    by_block = {b.get("block_id"): b for b in view["blocks"]}
    paused, gone, busy = (
        by_block[ids.home_agent_block(name)] for name in ("paused-bot", "gone-bot", "busy-bot")
    )
    assert (paused["accessory"]["text"]["text"], paused["accessory"]["action_id"]) == (
        "Resume",
        ids.HOME_RESUME_AGENT,
    )
    assert "accessory" not in gone and "add it back to council.yml" in gone["text"]["text"]
    assert (busy["accessory"]["action_id"], busy["accessory"]["value"]) == (ids.HOME_PAUSE_AGENT, "busy-bot")
    assert busy["accessory"]["confirm"]["confirm"]["text"] == "Pause"
    assert "No delivery has been given up on." in rendered_text(view)
