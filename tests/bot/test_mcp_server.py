"""`council mcp` as an MCP client sees it: the SDK's own client session against the real Council.

The server runs as the command an MCP client starts (`council mcp`, in a subprocess), speaking stdio
or streamable HTTP, acting for the harness's agent against the app on its port.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult, TextContent

from bot.app_keys import RUNTIME
from bot.services import agents
from bot.slack import ids
from models import Escalation
from tests.harness import REFUND, Harness, free_port

ROOT = Path(__file__).resolve().parents[2]
COMMAND = [sys.executable, "-m", "bot.cli", "mcp"]


def _env(council: Harness | None = None, /, **extra: str) -> dict[str, str]:
    """The variables `council mcp` reads, and where to import Council from."""
    found = {"COUNCIL_URL": council.url, "COUNCIL_API_KEY": council.creds.api_key} if council else {}
    return {"PYTHONPATH": str(ROOT), **found, **extra}


@asynccontextmanager
async def _stdio(council: Harness, tmp_path: Path) -> AsyncIterator[ClientSession]:
    """Start `council mcp` as an MCP client does, and open a session with it."""
    params = StdioServerParameters(command=COMMAND[0], args=COMMAND[1:], env=_env(council), cwd=tmp_path)
    with (tmp_path / "mcp.log").open("w") as errlog:
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            yield session


async def _opened(title: str) -> str:
    """Wait until an escalation with this title exists; return its id."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while loop.time() < deadline:
        escalation = await Escalation.filter(title=title).first()
        if escalation is not None:
            return escalation.public_id
        await asyncio.sleep(0.02)
    raise AssertionError(f"no escalation {title!r} was opened")


def _text(result: CallToolResult) -> str:
    [content] = result.content
    assert isinstance(content, TextContent)
    return content.text


def _data(result: CallToolResult) -> dict[str, Any]:
    assert result.structuredContent is not None
    return result.structuredContent


async def test_tools_are_listed_with_their_arguments(council: Harness, tmp_path: Path) -> None:
    async with _stdio(council, tmp_path) as session:
        listed = {tool.name: tool for tool in (await session.list_tools()).tools}
    assert set(listed) == {"ask_council", "check_escalation", "report_execution"}
    ask = listed["ask_council"]
    assert ask.inputSchema["required"] == ["title"]
    assert {"amount", "currency", "wait_seconds", "idempotency_key"} <= set(ask.inputSchema["properties"])
    assert "ctx" not in ask.inputSchema["properties"]
    assert "BEFORE an action past your mandate" in (ask.description or "")
    assert ask.outputSchema is not None and "approved_amount" in ask.outputSchema["properties"]
    assert listed["check_escalation"].inputSchema["required"] == ["escalation_id"]
    assert listed["report_execution"].inputSchema["required"] == ["escalation_id", "status"]


async def test_ask_waits_for_the_council_then_the_execution_is_reported(
    council: Harness, tmp_path: Path
) -> None:
    async with _stdio(council, tmp_path) as session:
        asking = asyncio.create_task(
            session.call_tool(
                "ask_council",
                {
                    "title": "Refund order 1042",
                    "summary": "Charged twice.",
                    "action_type": "refund",
                    "amount": 1200,
                    "currency": "USD",
                    "target": "order 1042",
                    "wait_seconds": 60,
                },
            )
        )
        esc = await _opened("Refund order 1042")
        await council.through_modal(
            "U0TECH001",
            ids.APPROVE_WITH_CONDITIONS,
            esc,
            {
                ids.CONDITIONS_BLOCK: {ids.CONDITIONS_INPUT: "To the original card only."},
                ids.AMOUNT_BLOCK: {ids.AMOUNT_INPUT: "900"},
            },
        )
        await council.click("U0FIN0001", ids.APPROVE, esc)
        asked = await asyncio.wait_for(asking, timeout=60)
        text = _text(asked)
        assert not asked.isError and text.startswith("APPROVED by the council (2 approve, 0 reject): ")
        assert f"escalation {esc} (Refund order 1042)" in text
        assert "for at most 900 USD (you asked for 1200 USD)" in text
        assert "Conditions (they bind): " in text and "To the original card only." in text
        assert (
            "Reasons: approved by majority (2–0); technology (U0TECH001) approved with conditions\n" in text
        )
        assert f"call report_execution with escalation_id {esc}" in text
        data = _data(asked)
        assert (data["escalation_id"], data["status"], data["proceed"]) == (esc, "approved", True)
        assert (data["approved_amount"], data["requested_amount"], data["currency"]) == ("900", "1200", "USD")

        reported = await session.call_tool(
            "report_execution",
            {"escalation_id": esc, "status": "succeeded", "executed_amount": "900", "currency": "USD"},
        )
        assert not reported.isError
        assert (
            _text(reported)
            == f"RECORDED for {esc}. Execution reported: succeeded 900 USD, within the approval."
        )
        assert _data(reported)["within_approval"] is True and _data(reported)["approved_amount"] == "900"
        again = await session.call_tool("report_execution", {"escalation_id": esc, "status": "succeeded"})
        assert again.isError and "[already_reported]" in _text(again)
        assert _data(again)["error"] == "already_reported"
        checked = await session.call_tool("check_escalation", {"escalation_id": esc})
        # Once reported, a check must not read as leave to act again.
        assert _text(checked).startswith(f"ALREADY EXECUTED: escalation {esc} ")
        assert "Do not act on it again" in _text(checked) and "within the approval" in _text(checked)
        assert "may proceed" not in _text(checked) and _data(checked)["proceed"] is False


async def test_another_agents_escalation_is_not_found_in_words(council: Harness, tmp_path: Path) -> None:
    other = await agents.create(
        name="other-bot", owner="U0OWNER02", council="ai-council", server_key=council.app[RUNTIME].server_key
    )
    async with council.http.post(
        f"{council.url}/api/v1/escalations", json=REFUND, headers=council.auth(other.api_key)
    ) as response:
        theirs = (await response.json())["id"]
    async with _stdio(council, tmp_path) as session:
        found = await session.call_tool("check_escalation", {"escalation_id": theirs})
        malformed = await session.call_tool("check_escalation", {"escalation_id": "order 1042"})
    assert found.isError and _text(found).startswith(f"REFUSED by Council (escalation_id {theirs}): ")
    assert "[not_found]" in _text(found) and "only its own escalations" in _text(found)
    assert _data(found)["error"] == "not_found" and _data(found)["proceed"] is False
    assert malformed.isError and _data(malformed)["error"] == "invalid_escalation_id"


async def test_pending_rejected_and_paused_say_do_not_act(council: Harness, tmp_path: Path) -> None:
    async with _stdio(council, tmp_path) as session:
        pending = await session.call_tool("ask_council", {"title": "Delete the backups", "wait_seconds": 0})
        esc = _data(pending)["escalation_id"]
        assert _text(pending).startswith(f"PENDING: the council has not decided escalation {esc}")
        # Asked again with the same arguments (an answer lost, a model repeating itself): the same one.
        again = await session.call_tool("ask_council", {"title": "Delete the backups", "wait_seconds": 0})
        assert _data(again)["escalation_id"] == esc
        assert _data(again)["idempotency_key"] == _data(pending)["idempotency_key"]
        assert await Escalation.filter(title="Delete the backups").count() == 1
        assert "Do not act yet" in _text(pending) and _data(pending)["proceed"] is False
        waiting = asyncio.create_task(
            session.call_tool("check_escalation", {"escalation_id": esc, "wait_seconds": 60})
        )
        await council.reject("U0PEOPLE1", esc, "Backups are the last line of defence.")
        await council.reject("U0TECH001", esc, "No.")
        rejected = await asyncio.wait_for(waiting, timeout=60)
        assert _text(rejected).startswith("REJECTED by the council (0 approve, 2 reject): ")
        assert "Do not proceed." in _text(rejected)
        assert "people (U0PEOPLE1) rejected: Backups are the last line of defence." in _text(rejected)
        assert _data(rejected)["status"] == "rejected" and _data(rejected)["proceed"] is False

        await agents.pause(name="refund-bot", reason="testing the kill switch", actor="U0ADMIN01")
        paused = await session.call_tool("ask_council", {"title": "Refund order 7", "wait_seconds": 0})
    assert paused.isError and "testing the kill switch" in _text(paused) and "You are paused" in _text(paused)
    assert _data(paused)["error"] == "agent_paused" and _data(paused)["escalation_id"] is None


async def _until_listening(server: asyncio.subprocess.Process, port: int) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while loop.time() < deadline and server.returncode is None:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return
    raise AssertionError(f"council mcp never listened on {port} (exit status {server.returncode})")


async def test_streamable_http_serves_the_tools(council: Harness, tmp_path: Path) -> None:
    _, created = await council.escalate()
    port = free_port()
    with (tmp_path / "mcp.log").open("w") as errlog:
        server = await asyncio.create_subprocess_exec(
            *COMMAND,
            "--transport",
            "streamable-http",
            "--port",
            str(port),
            env={**os.environ, **_env(council)},
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=errlog,
        )
    try:
        await _until_listening(server, port)
        async with (
            streamable_http_client(f"http://127.0.0.1:{port}/mcp") as (read, write, _),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            checked = await session.call_tool("check_escalation", {"escalation_id": created["id"]})
    finally:
        server.terminate()
        status = await asyncio.wait_for(server.wait(), timeout=30)
    assert _text(checked).startswith(f"PENDING: the council has not decided escalation {created['id']}")
    assert _data(checked)["status"] == "pending"
    assert status == 0, (tmp_path / "mcp.log").read_text()


async def _refused(env: dict[str, str], tmp_path: Path, *args: str) -> tuple[int | None, list[str]]:
    """Run `council mcp`; return its exit status and its stderr's lines (it writes nothing on stdout)."""
    process = await asyncio.create_subprocess_exec(
        *COMMAND,
        *args,
        env={key: value for key, value in os.environ.items() if not key.startswith("COUNCIL_")} | env,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert out == b""
    return process.returncode, err.decode().splitlines()


@pytest.mark.parametrize(
    ("variables", "line"),
    [
        (
            {},
            "council: COUNCIL_URL is not set: the address of the running Council, like http://127.0.0.1:3000",
        ),
        (
            {"COUNCIL_URL": "council.example.com"},
            "council: COUNCIL_URL is 'council.example.com': write the address of the running Council, "
            "like https://council.example.com",
        ),
        (
            {"COUNCIL_URL": "http://127.0.0.1:3000"},
            "council: COUNCIL_API_KEY is not set: "
            "the agent's API key (ck_…) that `council agent create` printed",
        ),
        ({"COUNCIL_URL": "http://127.0.0.1:3000", "COUNCIL_API_KEY": "ck_x", "LOG_LEVEL": "loud"}, None),
    ],
)
async def test_a_missing_or_wrong_setting_exits_2_with_one_line(
    tmp_path: Path, variables: dict[str, str], line: str | None
) -> None:
    status, lines = await _refused(_env(**variables), tmp_path)
    assert status == 2 and len(lines) == 1
    assert lines == [line] if line else lines[0].startswith("council: LOG_LEVEL: Input should be")


async def test_a_wrong_key_exits_2_with_one_line(council: Harness, tmp_path: Path) -> None:
    status, lines = await _refused(_env(council, COUNCIL_API_KEY="ck_wrong"), tmp_path)
    assert status == 2
    assert lines == [f"council: COUNCIL_API_KEY was refused by Council at {council.url}: unknown API key"]


async def test_a_council_that_does_not_answer_exits_2_with_one_line(tmp_path: Path) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    status, lines = await _refused(_env(COUNCIL_URL=nowhere, COUNCIL_API_KEY="ck_x"), tmp_path)
    assert status == 2 and len(lines) == 1
    assert lines[0].startswith(f"council: cannot reach Council at {nowhere}: ")


async def test_a_port_in_use_exits_2_with_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = _env(COUNCIL_URL="http://127.0.0.1:3000", COUNCIL_API_KEY="ck_x")
        status, lines = await _refused(env, tmp_path, "--transport", "streamable-http", "--port", str(port))
    assert status == 2
    assert lines == [
        f"council: cannot listen on 127.0.0.1:{port}: the port is in use (is another Council running?)"
    ]
