"""What both benchmarks share: Council's settings and council.yml, the agent's request, the command line."""

from __future__ import annotations

import argparse
import contextlib
import json
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

from bench.database import Database
from bench.load import Request
from bot import logs
from bot.outbox import pacing
from bot.settings import Settings
from tests.fakeslack import FakeSlack, Message
from tests.fakeslack.workspace import DEFAULT_TOKEN
from tests.harness import REFUND, SIGNING_SECRET, Harness, running_council

CHANNEL = "C0COUNCIL"
MEMBERS = ("U0PEOPLE1", "U0TECH001", "U0FIN0001")
# Unanimous, so every escalation takes all three members' votes and the third one decides it.
COUNCIL_YML = f"""
admins: [U0ADMIN01]
councils:
  - name: ai-council
    channel: {CHANNEL}
    timezone: Europe/Berlin
    members:
      - {{user: {MEMBERS[0]}, function: people, role: chair}}
      - {{user: {MEMBERS[1]}, function: technology}}
      - {{user: {MEMBERS[2]}, function: finance}}
agents:
  - {{name: refund-bot, owner: U0OWNER01, council: ai-council}}
policies:
  - name: refunds
    match: {{kind: approval}}
    council: ai-council
    rule: {{type: unanimous}}
    deadline: 4h
defaults: {{council: ai-council}}
"""


def settings(database: Database) -> Settings:
    """Council's production defaults (debounce, outbox poll), without .env, council.yml or key file."""
    return Settings(
        _env_file=None,
        database_url=database.url,
        slack_bot_token=DEFAULT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        council_secret_key=secrets.token_hex(32),
        council_config=None,
        # The agent's callback endpoint in the decision benchmark listens on 127.0.0.1.
        council_allow_private_callbacks=True,
        log_level="WARNING",
    )


@asynccontextmanager
async def council(database: Database, *, paced: bool = False) -> AsyncIterator[Harness]:
    """Run the real app against the fake Slack, with the council applied and an agent created.

    Unless `paced`, Slack's rate limits are lifted on both sides, the fake's and Council's own
    pacing (docs/operations.md): the intake and vote benchmarks send hundreds of posts to one
    channel, which Slack takes at about one a second, and they measure Council, not Slack's pace.
    """
    configured = settings(database)
    logs.configure(configured)
    with contextlib.ExitStack() as lifted:
        if not paced:
            lifted.enter_context(_unpaced())
        async with running_council(configured, council_yml=COUNCIL_YML) as harness:
            harness.fake.limits.enabled = paced
            yield harness


@contextlib.contextmanager
def _unpaced() -> Iterator[None]:
    unlimited = pacing.Limit(per_minute=10**9, burst=10**9)
    saved = pacing.POST_PER_CHANNEL, dict(pacing.TIERS), pacing.TIER_2
    pacing.POST_PER_CHANNEL, pacing.TIER_2 = unlimited, unlimited
    pacing.TIERS.update(dict.fromkeys(pacing.TIERS, unlimited))
    try:
        yield
    finally:
        pacing.POST_PER_CHANNEL, tiers, pacing.TIER_2 = saved
        pacing.TIERS.clear()
        pacing.TIERS.update(tiers)


def escalation_request(harness: Harness, *, callback_url: str | None = None) -> Request:
    """Return the agent's POST /api/v1/escalations: a refund the council must vote on."""
    body: dict[str, Any] = {**REFUND, "callback_url": callback_url} if callback_url else REFUND
    headers = {**harness.auth(), "Content-Type": "application/json"}
    return Request("/api/v1/escalations", json.dumps(body).encode(), headers)


async def posts(fake: FakeSlack, total: int, *, within: float) -> list[Message] | None:
    """Wait until the council channel holds `total` posts and return them (None: not in time)."""

    def enough() -> list[Message]:
        messages = fake.messages(CHANNEL)
        return messages if len(messages) >= total else []

    try:
        found: list[Message] = await fake.wait_for(enough, timeout=within)
    except AssertionError:  # the fake's way of saying the time ran out
        return None
    return found


def arguments(description: str) -> argparse.ArgumentParser:
    """Return a parser with the options every benchmark takes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent HTTP clients (default 8)")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds each phase may take before it stops (default 60)"
    )
    return parser
