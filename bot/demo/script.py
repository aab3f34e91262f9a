"""The demo's story: a refund agent escalates, three members vote, the agent learns the outcome."""

from __future__ import annotations

import asyncio
import json
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

from bot import keys
from bot.app import create_app
from bot.demo.standin import Seen, SlackStandIn, plain
from bot.services import agents, config
from bot.settings import Settings
from bot.slack import ids

COUNCIL_YML = """
admins: [U0PEOPLE1]
councils:
  - name: ai-council
    channel: C0COUNCIL
    timezone: Europe/Berlin
    members:
      - {user: U0PEOPLE1, function: people, role: chair}
      - {user: U0TECH001, function: technology}
      - {user: U0FIN0001, function: finance}
agents:
  - {name: refund-bot, owner: U0OWNER01, council: ai-council}
policies:
  - name: refunds
    match: {kind: approval, category: refunds}
    council: ai-council
    rule: {type: majority, quorum: 2}
    deadline: 4h
"""
NAMES = {
    "U0PEOPLE1": "Priya (people, chair)",
    "U0TECH001": "Tomas (technology)",
    "U0FIN0001": "Fatima (finance)",
}


class Demo:
    """Runs the app, the Slack stand-in and an agent on local ports, and narrates."""

    def __init__(self, folder: Path) -> None:
        self.slack = SlackStandIn()
        self.signing_secret = secrets.token_hex(16)
        self.folder = folder
        self.callbacks: list[tuple[dict[str, Any], bool]] = []
        self.shown = 0
        self.runners: list[web.AppRunner] = []
        self.agent_secret = ""
        self.slack_url = ""

    async def serve(self, app: web.Application) -> str:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.runners.append(runner)
        port = runner.addresses[0][1]
        return f"http://127.0.0.1:{port}"

    def say(self, text: str) -> None:
        print(text)

    def show_new(self) -> None:
        """Print what people saw in Slack since the last call."""
        for seen in self.slack.feed[self.shown :]:
            self.say(_box(seen))
        self.shown = len(self.slack.feed)

    async def click(
        self, http: aiohttp.ClientSession, council_url: str, user: str, action_id: str, value: str
    ) -> None:
        channel_messages = self.slack.channels.get("C0COUNCIL", [])
        payload = {
            "type": "block_actions",
            "api_app_id": "A0DEMO",
            "team": {"id": "T0DEMO"},
            "user": {"id": user, "team_id": "T0DEMO"},
            "channel": {"id": "C0COUNCIL"},
            "container": {
                "type": "message",
                "channel_id": "C0COUNCIL",
                "message_ts": channel_messages[0].ts if channel_messages else "",
            },
            "trigger_id": f"{int(time.time())}.{secrets.token_hex(4)}",
            "response_url": f"{self.slack_url}/respond/{user}",
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": ids.VOTE_ACTIONS_BLOCK,
                    "value": value,
                    "action_ts": str(time.time()),
                }
            ],
        }
        await self.send_signed(http, council_url, {"payload": json.dumps(payload)})

    async def submit_reason(
        self, http: aiohttp.ClientSession, council_url: str, user: str, reason: str
    ) -> None:
        view = self.slack.views[-1]
        payload = {
            "type": "view_submission",
            "api_app_id": "A0DEMO",
            "team": {"id": "T0DEMO"},
            "user": {"id": user, "team_id": "T0DEMO"},
            "view": {
                **view,
                "id": "V1",
                "state": {
                    "values": {
                        ids.REASON_BLOCK: {ids.REASON_INPUT: {"type": "plain_text_input", "value": reason}}
                    }
                },
            },
        }
        await self.send_signed(http, council_url, {"payload": json.dumps(payload)})

    async def send_signed(self, http: aiohttp.ClientSession, council_url: str, form: dict[str, str]) -> None:
        body = urlencode(form)
        stamp = str(int(time.time()))
        signature = (
            SignatureVerifier(self.signing_secret).generate_signature(timestamp=stamp, body=body) or ""
        )
        headers = {
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature,
            "Content-Type": "application/x-www-form-urlencoded",
        }
        async with http.post(f"{council_url}/slack/events", data=body, headers=headers) as response:
            response.raise_for_status()


def _box(seen: Seen) -> str:
    body = "\n".join(f"  │ {line}" for line in plain(seen).splitlines() if line.strip())
    return f"  ┌─ {seen.where}\n{body}\n  └─"


async def _settle(demo: Demo, condition: Any, within: float = 10.0) -> None:
    """Wait until the app's outbox has delivered what the condition expects."""
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise RuntimeError("the demo timed out waiting for Council to deliver a message")
        await asyncio.sleep(0.02)


async def run_demo() -> int:
    """Play the story end to end and print what everyone saw; return 0 on success."""
    with tempfile.TemporaryDirectory(prefix="council-demo-") as folder:
        return await _play(Demo(Path(folder)))


async def _play(demo: Demo) -> int:
    demo.slack_url = await demo.serve(demo.slack.app)
    agent_app = web.Application()
    agent_app.router.add_post("/callback", lambda request: _receive(demo, request))
    agent_url = await demo.serve(agent_app)
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite://{demo.folder / 'council.db'}",
        slack_bot_token="xoxb-demo",  # noqa: S106 - the stand-in accepts any token
        slack_signing_secret=demo.signing_secret,
        slack_api_url=f"{demo.slack_url}/api/",
        council_secret_key_file=demo.folder / "council.key",
        council_allow_private_callbacks=True,
        council_tally_debounce=0,
        council_outbox_poll=0.05,
        council_config=None,
    )
    council_url = await demo.serve(create_app(settings))
    try:
        return await _story(demo, council_url, agent_url, keys.load_server_key(settings))
    finally:
        for runner in reversed(demo.runners):
            await runner.cleanup()


async def _story(demo: Demo, council_url: str, agent_url: str, server_key: bytes) -> int:
    say = demo.say
    say("Council demo — a refund agent asks for more than its mandate allows.\n")
    report = await config.apply_text(COUNCIL_YML, source="demo council.yml")
    say(
        f"Admin applies council.yml: {len(report.changes)} changes (council of three, one agent, one policy)."
    )
    creds = await agents.create(
        name="refund-bot", owner="U0OWNER01", council="ai-council", server_key=server_key
    )
    demo.agent_secret = creds.signing_secret
    say(f"Admin creates agent refund-bot: API key {creds.api_key[:8]}… and signing secret shown once.\n")
    async with aiohttp.ClientSession() as http:
        auth = {"Authorization": f"Bearer {creds.api_key}", "Idempotency-Key": "refund-1042"}
        body = {
            "kind": "approval",
            "title": "Refund order #1042 — <!channel> duplicate charge",
            "summary": "Customer was charged twice for a $2,400 order; policy allows $500 without review.",
            "action": {"type": "refund", "amount": 2400, "currency": "USD", "target": "order 1042"},
            "category": "refunds",
            "risk": "medium",
            "context": {"customer": "C-88", "orders": 2},
            "callback_url": f"{agent_url}/callback",
        }
        async with http.post(f"{council_url}/api/v1/escalations", json=body, headers=auth) as response:
            created = await response.json()
        esc = created["id"]
        state = created["status"]
        say(f"refund-bot → POST /api/v1/escalations: HTTP {response.status}, {esc}, status {state}")
        say("  (its title tries to ping @channel; Council shows it literally)")
        await _settle(demo, lambda: bool(demo.slack.channels.get("C0COUNCIL")))
        say("\nThe council channel shows:")
        demo.show_new()
        say(f"\n{NAMES['U0TECH001']} clicks Approve:")
        await demo.click(http, council_url, "U0TECH001", ids.APPROVE, esc)
        await _settle(
            demo,
            lambda: (
                any(s.where.endswith("(message updated)") for s in demo.slack.feed)
                and any(s.where.startswith("only U0TECH001") for s in demo.slack.feed)
            ),
        )
        demo.show_new()
        say(f"\n{NAMES['U0FIN0001']} clicks Reject; a modal asks why:")
        await demo.click(http, council_url, "U0FIN0001", ids.REJECT, esc)
        await _settle(demo, lambda: bool(demo.slack.views))
        demo.show_new()
        say("She writes a reason and submits.")
        updates = sum(s.where.endswith("(message updated)") for s in demo.slack.feed)
        await demo.submit_reason(
            http, council_url, "U0FIN0001", "Over the $500 mandate; check for fraud first."
        )
        await _settle(
            demo, lambda: sum(s.where.endswith("(message updated)") for s in demo.slack.feed) > updates
        )
        demo.show_new()
        say(f"\n{NAMES['U0PEOPLE1']} clicks Approve — that settles it (majority 2–1, quorum 2):")
        await demo.click(http, council_url, "U0PEOPLE1", ids.APPROVE, esc)
        await _settle(
            demo, lambda: bool(demo.callbacks) and any("thread" in s.where for s in demo.slack.feed)
        )
        demo.show_new()
        event, verified = demo.callbacks[0]
        decision = event["escalation"]["decision"]
        say(
            f"\nrefund-bot receives the callback {event['id']}: signature "
            f"{'verified' if verified else 'INVALID'}; outcome {decision['outcome']} "
            f"by {decision['decided_by']} ({decision['tally']['approve']}–{decision['tally']['reject']})."
        )
        async with http.get(f"{council_url}/api/v1/escalations/{esc}?wait=5", headers=auth) as response:
            final = await response.json()
        say(f"refund-bot → GET /api/v1/escalations/{esc}: status {final['status']}; reasons:")
        for vote in final["decision"]["votes"]:
            say(
                f"  {NAMES[vote['user']]}: {vote['choice']}"
                + (f" — {vote['reason']}" if vote["reason"] else "")
            )
    ok = verified and final["status"] == "approved"
    say("\nDemo complete." if ok else "\nDemo FAILED.")
    return 0 if ok else 1


async def _receive(demo: Demo, request: web.Request) -> web.Response:
    raw = await request.read()
    verified = keys.verify(demo.agent_secret, raw, request.headers.get(keys.SIGNATURE_HEADER, ""))
    demo.callbacks.append((json.loads(raw), verified))
    return web.Response(status=204)
