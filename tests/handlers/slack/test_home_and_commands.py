"""/council and the App Home tab end to end: signed Slack requests in, what the person sees out."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from bot.settings import Settings
from bot.slack import home_view, ids
from models import Agent
from tests.fakeslack import event_body, signed_headers, validate_view
from tests.fakeslack.signing import JSON
from tests.harness import COUNCIL_YML, REFUND, SIGNING_SECRET, Harness, running_council

ADMIN = "U0ADMIN01"
# A second council, for legal matters only: its escalations never await the first council's members.
TWO_COUNCILS = COUNCIL_YML.replace(
    "agents:\n",
    """  - name: legal-council
    channel: C0LEGAL01
    members:
      - {user: U0LEGAL01, function: legal, role: chair}
agents:
""",
).replace(
    "policies:\n",
    """policies:
  - {name: legal, match: {category: legal}, council: legal-council, rule: {type: single}}
""",
)


@pytest.fixture
async def two_councils(settings: Settings) -> AsyncIterator[Harness]:
    async with running_council(settings, council_yml=TWO_COUNCILS) as harness:
        yield harness


async def command(council: Harness, text: str, *, user: str) -> str:
    """Send `/council TEXT` as `user` and return the private answer Slack shows them."""
    body = council.fake.slash_command_body(text=text, user_id=user)
    response = await council.slack(body)
    assert response.status == 200
    response_id = dict(part.split("=", 1) for part in body.split("&"))["response_url"].rsplit("%2F", 1)[1]
    [answer] = await council.fake.wait_for(
        lambda: [r for r in council.fake.responses if r.response_id == response_id]
    )
    assert answer.body["response_type"] == "ephemeral"
    return str(answer.body["text"])


async def open_home(council: Harness, user: str, *, tab: str = "home") -> dict[str, Any]:
    """Open the App Home tab as `user` (a signed JSON event) and return the view published for them."""
    before = len([v for v in council.fake.views if v.user == user])
    body = event_body({"type": "app_home_opened", "user": user, "channel": f"D{user[1:]}", "tab": tab})
    response = await council.slack(body, headers=signed_headers(SIGNING_SECRET, body, content_type=JSON))
    assert response.status == 200
    published = await council.fake.wait_for(
        lambda: [v for v in council.fake.views if v.user == user][before:]
    )
    assert published[-1].action == "publish" and council.fake.home(user) == published[-1].view
    return published[-1].view


def mrkdwn(node: object) -> list[str]:
    """Every mrkdwn string in a block tree: the text Slack parses for mentions and links."""
    if isinstance(node, dict):
        if node.get("type") == "mrkdwn":
            return [node["text"]]
        return [text for value in node.values() for text in mrkdwn(value)]
    if isinstance(node, list):
        return [text for item in node for text in mrkdwn(item)]
    return []


def shown(council: Harness, view: dict[str, Any]) -> str:
    return str(council.fake.rendered_text(view))


async def escalate(council: Harness, **changes: Any) -> str:
    status, body = await council.escalate({**REFUND, **changes})
    assert status == 201, body
    return str(body["id"])


async def test_a_member_cannot_pause_an_agent_and_it_keeps_working(council: Harness) -> None:
    answer = await command(council, "agent pause refund-bot", user="U0TECH001")
    assert answer == "Only Council admins can do that (see `admins` in council.yml)."
    assert (await Agent.get(name="refund-bot")).status == "active"
    status, _ = await council.escalate()
    assert status == 201


async def test_an_admin_pauses_an_agent_and_its_api_calls_are_refused(council: Harness) -> None:
    answer = await command(council, "agent pause refund-bot refunds look wrong", user=ADMIN)
    assert answer == "Agent *refund-bot* is now paused."
    status, body = await council.escalate()
    assert status == 403
    assert body["error"]["code"] == "agent_paused" and "refunds look wrong" in body["error"]["message"]
    assert "paused (refunds look wrong)" in await command(council, "agents", user="U0TECH001")

    assert (
        await command(council, "agent resume refund-bot", user=ADMIN) == "Agent *refund-bot* is now active."
    )
    status, _ = await council.escalate()
    assert status == 201


async def test_policies_and_members_show_what_council_yml_says(two_councils: Harness) -> None:
    policies = await command(two_councils, "policies", user="U0FIN0001")
    assert policies.splitlines() == [
        "Policies, first match wins:",
        "1. *legal* — when category legal → council *legal-council*, rule single decider, deadline 24h, "
        "on timeout reject",
        "2. *refunds* — when kind approval → council *ai-council*, rule majority · quorum 2, deadline 4h, "
        "on timeout reject",
        "Otherwise (default): council *ai-council*, rule majority, deadline 24h, on timeout reject",
    ]
    members = await command(two_councils, "members", user="U0FIN0001")
    assert members.splitlines() == [
        "*ai-council* (<#C0COUNCIL>) — 3 active",
        "• <@U0PEOPLE1> — people, chair",
        "• <@U0TECH001> — technology, member",
        "• <@U0FIN0001> — finance, member",
        "*legal-council* (<#C0LEGAL01>) — 1 active",
        "• <@U0LEGAL01> — legal, chair",
    ]
    assert (await command(two_councils, "members legal-council", user="U0FIN0001")) == "\n".join(
        members.splitlines()[-2:]
    )


async def test_a_hostile_title_is_shown_escaped_in_status_and_on_home(council: Harness) -> None:
    esc = await escalate(council, title="<!channel> approve <http://evil.example|this> now")
    status = await command(council, "status", user="U0TECH001")
    assert f"`{esc}` &lt;!channel&gt; approve &lt;http://evil.example|this&gt; now — due " in status
    assert "<!channel>" not in status and "<http" not in status

    view = await open_home(council, "U0TECH001")
    parsed = mrkdwn(view["blocks"])
    assert not any("<!channel>" in text or "<http" in text for text in parsed)
    assert "<!channel> approve <http://evil.example|this> now" in shown(council, view)


async def test_home_lists_exactly_what_awaits_the_viewers_vote(two_councils: Harness) -> None:
    first = await escalate(two_councils, title="Refund order 1")
    voted = await escalate(two_councils, title="Refund order 2")
    third = await escalate(
        two_councils, title="Refund order 3", action={"type": "refund", "amount": 99.5, "currency": "EUR"}
    )
    legal = await escalate(two_councils, title="Sign the NDA", category="legal")
    await two_councils.click("U0TECH001", ids.APPROVE, voted)
    await two_councils.fake.wait_for(lambda: two_councils.fake.responses)

    view = await open_home(two_councils, "U0TECH001")
    assert validate_view(view, surface="home") == []
    text = shown(two_councils, view)
    awaiting = text.split("Awaiting your vote")[1].split("Incidents you own")[0]
    assert awaiting.startswith(" (2)")
    assert "Refund order 1" in awaiting and "Refund order 3" in awaiting
    assert "Refund order 2" not in awaiting and "Sign the NDA" not in awaiting
    assert f"`{first}` in #C0COUNCIL" in awaiting and f"`{third}` in #C0COUNCIL" in awaiting
    assert "refund-bot · $1,250 · due " in awaiting and "refund-bot · €99.50 · due " in awaiting
    assert "*Approve* on" in text.split("Your last votes")[1] and voted in text.split("Your last votes")[1]
    assert "Paused agents" not in text  # not an admin

    lawyer = shown(two_councils, await open_home(two_councils, "U0LEGAL01"))
    assert (
        "Awaiting your vote (1)" in lawyer
        and "Sign the NDA" in lawyer
        and f"`{legal}` in #C0LEGAL01" in lawyer
    )
    assert "Refund order" not in lawyer and "You have not voted yet." in lawyer


async def test_home_shows_owned_incidents_and_admins_see_paused_agents(council: Harness) -> None:
    incident = await escalate(council, kind="incident", title="Refund loop detected")
    await council.click("U0PEOPLE1", ids.TAKE_OWNERSHIP, incident)
    await council.fake.wait_for(lambda: council.fake.responses)
    chair = shown(council, await open_home(council, "U0PEOPLE1"))
    owned = chair.split("Incidents you own")[1].split("Your last votes")[0]
    assert owned.startswith(" (1)") and "Refund loop detected" in owned and f"`{incident}`" in owned
    assert "You own no open incidents." in shown(council, await open_home(council, "U0TECH001"))

    await command(council, "agent pause refund-bot <!here> overspent", user=ADMIN)
    view = await open_home(council, ADMIN)
    text = shown(council, view)
    assert "Paused agents (1)" in text and "*refund-bot* — owner @U0OWNER01: <!here> overspent" in text
    assert not any("<!here>" in part for part in mrkdwn(view["blocks"]))
    assert "Nothing awaits your vote." in text


async def test_the_messages_tab_publishes_nothing(council: Harness) -> None:
    body = event_body({"type": "app_home_opened", "user": "U0TECH001", "tab": "messages"})
    response = await council.slack(body, headers=signed_headers(SIGNING_SECRET, body, content_type=JSON))
    assert response.status == 200
    await open_home(council, "U0FIN0001")  # a later event is handled, so the first one has been too
    assert council.fake.home("U0TECH001") is None


def test_a_full_home_stays_within_slack_limits() -> None:
    hostile = "<!channel> " + "&" * 400
    data = home_view.HomeData(
        user="U0TECH001",
        awaiting=[
            home_view.Awaiting(
                public_id=f"esc_{n:020d}",
                title=hostile,
                agent="refund-bot",
                amount=Decimal("12500"),
                currency="USD",
                deadline=datetime(2030, 1, 1, tzinfo=UTC),
                channel_id="C0COUNCIL",
            )
            for n in range(200)
        ],
        votes=[
            home_view.RecentVote(f"esc_{n}", hostile, "reject", hostile * 10, "rejected") for n in range(9)
        ],
        paused=[home_view.PausedAgent(f"bot-{n}", "U0OWNER01", hostile) for n in range(50)],
    )
    view = home_view.build(data)
    assert validate_view(view, surface="home") == []
    assert len(view["blocks"]) <= 100
    text = json.dumps(view)
    assert "<!channel>" not in text
    assert "… and 175 more" in str(view) and "… and 30 more" in str(view)


async def test_a_failed_publish_is_logged_and_the_next_open_works(
    council: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    council.fake.fail_next("views.publish", status=200, error="internal_error")
    body = event_body({"type": "app_home_opened", "user": "U0TECH001", "tab": "home"})
    response = await council.slack(body, headers=signed_headers(SIGNING_SECRET, body, content_type=JSON))
    assert response.status == 200
    await council.fake.wait_for(
        lambda: [r for r in caplog.records if r.getMessage() == "Slack listener failed"]
    )
    assert council.fake.home("U0TECH001") is None
    assert "Nothing awaits your vote." in shown(council, await open_home(council, "U0TECH001"))
