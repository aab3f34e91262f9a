"""One escalation through the running app: its lines, request to callback, all name it, and only it."""

from __future__ import annotations

import asyncio
import io
import json
import re
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from bot.settings import Settings
from bot.slack import ids
from models import Escalation, OutboxItem
from tests.harness import Harness, running_council
from tests.logged import council_logs

Entry = dict[str, Any]
# The text format: time, level, logger, message, then ` name=value` for what the line is about.
TEXT = re.compile(r"^\S+ \S+ (?P<level>[A-Z]+) (?P<logger>\S+): (?P<message>.*)$")
FIELD = re.compile(r" (escalation|agent|council)=(\S+)$")
DELIVERED = re.compile(r"^outbox (\d+) (\S+) delivered$")
ABOUT = {"agent": "refund-bot", "council": "ai-council"}


@pytest.fixture(params=["json", "text"])
def log_format(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def written(log_format: str) -> Iterator[io.StringIO]:
    """Council's own logging at INFO as `council serve` sets it up, its stream read here."""
    with council_logs("INFO", log_format) as stream:
        yield stream


@pytest.fixture
async def council(settings: Settings, written: io.StringIO) -> AsyncIterator[Harness]:
    async with running_council(settings) as harness:
        yield harness


def _parse(line: str, log_format: str) -> Entry | None:
    """Read one line back as a dict: message, logger and what it is about; None for a traceback's lines."""
    if log_format == "json":
        entry: Entry = json.loads(line)
        return entry
    match = TEXT.match(line)
    if match is None:
        return None
    entry = {"logger": match["logger"], "level": match["level"].lower()}
    message = match["message"]
    while found := FIELD.search(message):
        entry[found[1]] = found[2]
        message = message[: found.start()]
    return {**entry, "message": message}


def _entries(written: io.StringIO, log_format: str) -> list[Entry]:
    parsed = (_parse(line, log_format) for line in written.getvalue().splitlines())
    return [entry for entry in parsed if entry is not None]


def _about(entry: Entry) -> dict[str, str]:
    return {name: entry[name] for name in ("escalation", "agent", "council") if name in entry}


async def _logged(
    written: io.StringIO, log_format: str, wanted: Callable[[Entry], bool], *, count: int = 1
) -> list[Entry]:
    """Wait until `count` lines match; return them (the bound is generous, for a loaded machine)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while len(found := [e for e in _entries(written, log_format) if wanted(e)]) < count:
        assert loop.time() < deadline, f"logged so far:\n{written.getvalue()}"
        await asyncio.sleep(0.02)
    return found


def _message(start: str) -> Callable[[Entry], bool]:
    return lambda entry: str(entry["message"]).startswith(start)


async def _delivered(written: io.StringIO, log_format: str, kind: str, public_id: str | None) -> list[Entry]:
    """Wait for the line that says the row of this kind (of this escalation, or of none) was delivered."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    rows = OutboxItem.filter(kind=kind)
    rows = rows.filter(escalation__public_id=public_id) if public_id else rows.filter(escalation_id=None)
    # A click or a command is answered before it is carried out: the row comes a moment later.
    while (row := await rows.first()) is None:
        assert loop.time() < deadline, f"no {kind} row for {public_id}"
        await asyncio.sleep(0.02)
    line = f"outbox {row.id} {kind} delivered"
    return await _logged(written, log_format, lambda entry: entry["message"] == line)


async def test_request_vote_decision_and_callback_lines_all_name_the_escalation(
    council: Harness, written: io.StringIO, log_format: str
) -> None:
    status, created = await council.escalate()
    assert status == 201, created
    esc = created["id"]
    for user in ("U0TECH001", "U0FIN0001"):
        await council.click(user, ids.APPROVE, esc)
    [callback] = await _delivered(written, log_format, "agent.callback", esc)
    assert council.sink.events()[0]["escalation"]["id"] == esc

    entries = _entries(written, log_format)
    stages = {
        "request": [e for e in entries if e["message"].startswith("escalation opened: approval, pending")],
        "vote": [e for e in entries if e["message"].startswith("vote recorded: ")],
        "decision": [e for e in entries if e["message"] == "escalation decided: approved by council"],
        "delivery": [e for e in entries if e["message"] == callback["message"]],
    }
    assert {stage: len(lines) for stage, lines in stages.items()} == {
        "request": 1,
        "vote": 2,
        "decision": 1,
        "delivery": 1,
    }, written.getvalue()
    expected = {"escalation": esc, **ABOUT}
    for stage, lines in stages.items():
        for entry in lines:
            assert _about(entry) == expected, (stage, entry)
    assert stages["delivery"][0]["logger"] == "bot.outbox.worker"
    # The Slack side of the same escalation: its post was delivered under its name too.
    posted = [e for e in entries if (m := DELIVERED.match(e["message"])) and m[2] == "escalation.opened"]
    assert [_about(e) for e in posted] == [expected]


async def test_no_line_carries_an_escalation_it_is_not_about(
    council: Harness, written: io.StringIO, log_format: str
) -> None:
    _, first = await council.escalate()
    await council.click("U0TECH001", ids.APPROVE, first["id"])
    await _logged(written, log_format, _message("vote recorded: "))

    # Unrelated requests that log: an admin's change said in the channel, and a request Slack did not sign.
    await council.slack(council.fake.slash_command_body(text="agent rotate refund-bot", user_id="U0ADMIN01"))
    [changed] = await _delivered(written, log_format, "admin.changed", None)
    assert _about(changed) == {}
    response = await council.slack(
        "token=unsigned", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status == 401
    [refused] = await _logged(written, log_format, _message("Invalid request signature detected"))
    assert _about(refused) == {}

    _, second = await council.escalate()
    opened = [e for e in _entries(written, log_format) if e["message"].startswith("escalation opened")]
    assert [_about(e) for e in opened] == [
        {"escalation": first["id"], **ABOUT},
        {"escalation": second["id"], **ABOUT},
    ]

    # Every delivery line names the escalation of its own row, or none (the worker's lanes outlive them all).
    await _delivered(written, log_format, "escalation.opened", second["id"])
    public = dict(await Escalation.all().values_list("id", "public_id"))
    owner = dict(await OutboxItem.all().values_list("id", "escalation_id"))
    delivered = [(m, e) for e in _entries(written, log_format) if (m := DELIVERED.match(e["message"]))]
    for match, entry in delivered:
        escalation = owner[int(match[1])]
        assert entry.get("escalation") == (public[escalation] if escalation else None), entry
    assert {entry.get("escalation") for _, entry in delivered} == {first["id"], second["id"], None}
