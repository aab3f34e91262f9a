"""Schemathesis against the real app on a port: whatever it sends, the server answers as documented.

It reads GET /api/v1/openapi.json, generates requests from it (valid and invalid, examples,
boundaries, unexpected methods, sequences that follow the document's links from a new escalation to
the calls that take its id) and checks each answer: no 500, a documented status, content type and
headers, a body that fits the schema, invalid input refused, 405 with Allow, and so on. It runs in
a worker thread; the app, on this test's event loop, answers it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import schemathesis
from schemathesis.engine import events, from_schema

from bot.services import agents
from tests.harness import Harness

SECONDS = 20
# Every refusal the document lists; schemathesis's own default leaves out 413, which is one.
REFUSALS = ["400", "401", "403", "404", "409", "413", "415", "422", "429"]


def _config(api_key: str) -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": 20261128,
            # Fuzzing and stateful runs repeat until this time is up; the examples bound each round.
            "max-time": SECONDS,
            "workers": 1,
            "cache": {"enabled": False},
            "generation": {"max-examples": 10, "database": "none"},
            "auth": {"openapi": {"apiKey": {"bearer": api_key}}},
            "checks": {
                # Off, as no schema can make every valid-looking request succeed here: a deadline or
                # executed_at relative to now, the 16 KiB context, a URL's host, routing and the
                # hard cap are checked by the server and described in words only.
                "positive_data_acceptance": {"enabled": False},
                "negative_data_rejection": {"expected-statuses": REFUSALS},
            },
            "phases": {"stateful": {"max-steps": 6}},
        }
    )


def _shorter_long_polls(context: Any, query: dict[str, Any] | None) -> dict[str, Any] | None:
    # A long poll holds a pending escalation for up to 60 s; a hundredth keeps the run in its time.
    wait = (query or {}).get("wait")
    if query and isinstance(wait, int | float) and not isinstance(wait, bool) and 0 <= wait <= 60:
        return {**query, "wait": wait / 100}
    return query


def _run(url: str, api_key: str) -> list[str]:
    schema = schemathesis.openapi.from_url(f"{url}/api/v1/openapi.json", config=_config(api_key))
    schema.hook("map_query")(_shorter_long_polls)
    problems: dict[str, str] = {}
    for event in from_schema(schema).execute():
        if isinstance(event, events.NonFatalError | events.FatalError):
            problems[repr(event)] = repr(event)
        elif isinstance(event, events.ScenarioFinished):
            for info in (n.failure_info for nodes in event.recorder.checks.values() for n in nodes):
                if info is not None:
                    failure = info.failure
                    problems.setdefault(
                        f"{failure.operation} {failure.title}",
                        f"{failure.operation}: {failure.title}\n{failure.message[:800]}\n"
                        f"{info.code_sample[:800]}",
                    )
        elif isinstance(event, events.EngineFinished):
            problems.update({f"{f.operation} {f.title}": f.message for f in event.failures})
    return list(problems.values())


@contextlib.asynccontextmanager
async def _admin_resuming(name: str) -> AsyncIterator[None]:
    """Resume the agent whenever Council pauses it, so the run keeps opening escalations.

    Schemathesis soon reports an execution of a pending escalation, which pauses the agent; from
    then on every POST would be 403 and the rest of the API would go untested.
    """

    async def resume() -> None:
        while True:
            if (await agents.get(name)).status == "paused":
                await agents.resume(name=name, actor="U0ADMIN01")
            await asyncio.sleep(0.2)

    task = asyncio.create_task(resume())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_schemathesis_finds_nothing(council: Harness) -> None:
    async with _admin_resuming("refund-bot"):
        problems = await asyncio.to_thread(_run, council.url, council.creds.api_key)
    assert not problems, "\n\n".join(problems)
