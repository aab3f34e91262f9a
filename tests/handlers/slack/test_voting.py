"""Members vote through signed Slack requests; the agent learns the decision over HTTP."""

from __future__ import annotations

import json

from bot import keys
from bot.slack import ids
from models import Vote
from tests.fakeslack import signed_headers
from tests.harness import SIGNING_SECRET, Harness


async def test_the_whole_loop_from_escalation_to_signed_callback(council: Harness) -> None:
    status, created = await council.escalate()
    assert status == 201 and created["status"] == "pending"
    esc = created["id"]
    await council.posted(esc)
    text = council.message_text(esc)
    for expected in (
        "Refund order 1042",
        "refund-bot",
        "$1,250",
        "medium",
        "majority · quorum 2",
        "Customer was charged twice.",
        "[Approve]",
        "[Reject]",
        "[Abstain]",
    ):
        assert expected in text, expected

    response = await council.click("U0TECH001", ids.APPROVE, esc)
    assert response.status == 200
    await council.fake.wait_for(lambda: "Approve 1" in council.message_text(esc))
    assert "@U0TECH001 (technology): *Approve*" in council.message_text(esc)

    await council.reject("U0FIN0001", esc, "Over the mandate; check for fraud first.")
    await council.fake.wait_for(lambda: "Reject 1" in council.message_text(esc))
    await council.click("U0PEOPLE1", ids.APPROVE, esc)

    events = await council.fake.wait_for(lambda: council.sink.events())
    headers, raw = council.sink.received[0]
    assert keys.verify(council.creds.signing_secret, raw, headers["Council-Signature"])
    event = events[0]
    assert event["type"] == "escalation.decided" and event["escalation"]["id"] == esc
    decision = event["escalation"]["decision"]
    assert decision["outcome"] == "approved" and decision["decided_by"] == "council"
    assert decision["tally"]["approve"] == 2 and decision["tally"]["reject"] == 1

    final = await council.fake.wait_for(
        lambda: "[Approve]" not in council.message_text(esc) and council.message_text(esc)
    )
    assert "Approved" in final
    message = council.fake.messages("C0COUNCIL")[0]
    replies = await council.fake.wait_for(lambda: council.fake.replies_of("C0COUNCIL", message.ts))
    assert "Over the mandate; check for fraud first." in council.fake.rendered_text(replies[-1])

    status, fetched = await council.get(esc)
    assert status == 200 and fetched["status"] == "approved"
    assert {v["user"]: v["reason"] for v in fetched["decision"]["votes"]}[
        "U0FIN0001"
    ] == "Over the mandate; check for fraud first."


async def test_the_escalation_is_posted_once(council: Harness) -> None:
    _, created = await council.escalate()
    await council.posted(created["id"])
    await council.click("U0TECH001", ids.APPROVE, created["id"])
    await council.fake.wait_for(lambda: "Approve 1" in council.message_text(created["id"]))
    posts = [c for c in council.fake.calls if c.method == "chat.postMessage" and c.ok]
    assert len(posts) == 1


async def test_outsider_click_is_told_and_records_nothing(council: Harness) -> None:
    _, created = await council.escalate()
    response = await council.click("U0STRANGER", ids.APPROVE, created["id"])
    assert response.status == 200
    answers = await council.fake.wait_for(lambda: council.fake.responses)
    assert "not on this council" in answers[-1].body["text"]
    assert answers[-1].body.get("response_type") == "ephemeral"
    assert await Vote.filter(escalation__public_id=created["id"]).count() == 0


async def test_reject_modal_requires_a_reason(council: Harness) -> None:
    _, created = await council.escalate()
    await council.posted(created["id"])
    await council.click("U0FIN0001", ids.REJECT, created["id"])
    opened = await council.fake.wait_for(lambda: council.fake.views)
    body = council.fake.view_submission_body(
        "U0FIN0001",
        ids.REJECT_MODAL,
        {ids.REASON_BLOCK: {ids.REASON_INPUT: "   "}},
        private_metadata=opened[0].view["private_metadata"],
    )
    response = await council.http.post(
        f"{council.url}/slack/events", data=body.encode(), headers=signed_headers(SIGNING_SECRET, body)
    )
    answer = json.loads(await response.text())
    assert answer["response_action"] == "errors" and ids.REASON_BLOCK in answer["errors"]
    assert await Vote.filter(escalation__public_id=created["id"]).count() == 0


async def test_badly_signed_or_stale_slack_requests_are_refused(council: Harness) -> None:
    _, created = await council.escalate()
    await council.posted(created["id"])
    body = council.fake.block_action_body("U0TECH001", ids.APPROVE, created["id"])
    forged = signed_headers("not-the-secret", body)
    assert (await council.slack(body, headers=forged)).status == 401
    stale = signed_headers(SIGNING_SECRET, body, timestamp=1_600_000_000)
    assert (await council.slack(body, headers=stale)).status == 401
    assert (
        await council.slack(body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    ).status == 401
    assert await Vote.filter(escalation__public_id=created["id"]).count() == 0


def _mrkdwn_texts(node: object) -> list[str]:
    """Every mrkdwn string in a block tree: the only text Slack parses for mentions and links."""
    if isinstance(node, dict):
        if node.get("type") == "mrkdwn":
            return [node["text"]]
        return [text for value in node.values() for text in _mrkdwn_texts(value)]
    if isinstance(node, list):
        return [text for item in node for text in _mrkdwn_texts(item)]
    return []


async def test_agent_text_cannot_ping_or_forge_links(council: Harness) -> None:
    hostile = {
        "kind": "approval",
        "title": "<!channel> urgent <@U0PEOPLE1>",
        "summary": "see <http://evil.example|your bank> and <!here>",
        "context": {"<!everyone>": "<@U0TECH001>"},
        "links": [{"title": "ok|<!channel>", "url": "https://example.com/a>b|c"}],
    }
    _, created = await council.escalate(hostile)
    await council.posted(created["id"])
    message = council.fake.messages("C0COUNCIL")[0]
    parsed = [message.text, *_mrkdwn_texts(message.blocks)]
    for forbidden in ("<!channel>", "<!here>", "<!everyone>", "<@U0PEOPLE1>", "<@U0TECH001>", "<http://evil"):
        assert not any(forbidden in text for text in parsed), forbidden
    links = [text for text in parsed if "example.com" in text]
    assert links == ["<https://example.com/a%3Eb%7Cc|ok¦&lt;!channel&gt;>"]
    shown = council.fake.rendered_text(message)
    assert "<!channel> urgent <@U0PEOPLE1>" in shown and "see <http://evil.example|your bank>" in shown
