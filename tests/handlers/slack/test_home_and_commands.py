"""/council and the App Home tab end to end: signed Slack requests in, what the person sees out."""

from __future__ import annotations

from models import Agent
from tests.handlers.slack.home_tab import escalate, mrkdwn, open_home, shown, two_councils
from tests.harness import Harness

ADMIN = "U0ADMIN01"
__all__ = ["command", "two_councils"]


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


async def test_a_member_cannot_pause_an_agent_and_it_keeps_working(council: Harness) -> None:
    answer = await command(council, "agent pause refund-bot", user="U0TECH001")
    assert answer == "Only Council admins (<@U0ADMIN01>) or a chair of ai-council (<@U0PEOPLE1>) can do that."
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
