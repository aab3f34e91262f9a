"""Start-up as an admin meets it: every refusal is one line and exit status 2, before anything is done.

Each test runs the real `council` command in a subprocess and reads exactly what it wrote.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import _postgres_or_skip
from tests.fakeslack import FakeSlack

ROOT = Path(__file__).resolve().parents[2]
SERVER_KEY = "startup-tests-" + "k" * 32


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "COUNCIL_", "DATABASE_URL"))}
    return clean | {
        "DATABASE_URL": f"sqlite://{tmp_path / 'council.db'}",
        "COUNCIL_SECRET_KEY_FILE": str(tmp_path / "council.key"),
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "test-signing-secret",
        # Nothing listens on the discard port: Slack is unreachable unless a test starts the fake.
        "SLACK_API_URL": "http://127.0.0.1:9/api/",
        "HOST": "127.0.0.1",
        "PORT": str(_free_port()),
        "PYTHONPATH": str(ROOT),
    }


def council(
    *args: str, env: dict[str, str], cwd: Path, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - runs our own CLI with fixed arguments
        [sys.executable, "-m", "bot.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def refused(result: subprocess.CompletedProcess[str]) -> str:
    """The one line a refused start-up wrote, after checking it is exit 2 and nothing else."""
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1, result.stderr
    return lines[0]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        yield int(holder.getsockname()[1])


def test_a_port_in_use_is_refused_before_the_database_is_touched(
    env: dict[str, str], tmp_path: Path, taken_port: int
) -> None:
    line = refused(council("serve", env=env | {"PORT": str(taken_port)}, cwd=tmp_path))
    assert line == (
        f"council: cannot listen on 127.0.0.1:{taken_port}: the port is in use (is another Council running?)"
    )
    assert not (tmp_path / "council.db").exists()
    assert not (tmp_path / "council.key").exists()


def test_a_host_that_does_not_resolve_is_refused(env: dict[str, str], tmp_path: Path) -> None:
    line = refused(council("serve", env=env | {"HOST": "no-such-host.invalid"}, cwd=tmp_path))
    assert line == "council: cannot listen on no-such-host.invalid: the host does not resolve"


def test_an_address_of_another_machine_is_refused(env: dict[str, str], tmp_path: Path) -> None:
    line = refused(council("serve", "--host", "192.0.2.1", env=env, cwd=tmp_path))
    assert line.endswith("192.0.2.1 is not an address of this machine")


def test_serve_refuses_an_empty_council_yml_before_binding_or_migrating(
    env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "council.yml").write_text("admins: [U0ADMIN01]\n")
    line = refused(council("serve", env=env, cwd=tmp_path))
    assert line == (
        "council: council.yml: refused: no councils, policies (applying it would remove every council, "
        "every policy); fix the file, or give --allow-empty (or set COUNCIL_ALLOW_EMPTY=true) "
        "if that is what you mean"
    )
    assert not (tmp_path / "council.db").exists()


def test_serve_refuses_an_invalid_council_yml_in_one_line(env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "council.yml").write_text("councils: [\n")
    line = refused(council("serve", env=env, cwd=tmp_path))
    assert line.startswith("council: council.yml: line ") and not (tmp_path / "council.db").exists()


@pytest.mark.parametrize("command", [["migrate"], ["serve"], ["agent", "list"]])
def test_a_sqlite_file_in_a_missing_folder_is_refused_at_once(
    env: dict[str, str], tmp_path: Path, command: list[str]
) -> None:
    missing = tmp_path / "nowhere" / "council.db"
    result = council(*command, env=env | {"DATABASE_URL": f"sqlite://{missing}"}, cwd=tmp_path, timeout=30)
    assert refused(result) == (
        f"council: DATABASE_URL names a SQLite file in {missing.parent}, and that folder does not exist"
    )


def test_a_sqlite_path_that_cannot_be_opened_is_refused_at_once(env: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "a-folder"
    folder.mkdir()
    result = council("migrate", env=env | {"DATABASE_URL": f"sqlite://{folder}"}, cwd=tmp_path, timeout=30)
    assert (
        refused(result)
        == f"council: cannot open the database sqlite://{folder}: unable to open database file"
    )


@pytest.mark.parametrize(
    ("url", "named"),
    [("mysql://council@db/council", "'mysql'"), ("council.db", "no scheme")],
)
def test_an_unknown_database_scheme_is_refused(
    env: dict[str, str], tmp_path: Path, url: str, named: str
) -> None:
    line = refused(council("migrate", env=env | {"DATABASE_URL": url}, cwd=tmp_path))
    assert line == (
        f"council: DATABASE_URL has {named}: use sqlite://PATH or postgres://USER:PASSWORD@HOST:5432/DATABASE"
    )


def test_postgresql_refusing_connections_is_one_line_without_the_password(
    env: dict[str, str], tmp_path: Path
) -> None:
    url = f"postgres://council:hunter2-secret@127.0.0.1:{_free_port()}/council"
    line = refused(council("serve", env=env | {"DATABASE_URL": url}, cwd=tmp_path))
    assert "hunter2" not in line
    assert line.startswith("council: cannot open the database postgres://council:***@127.0.0.1:")
    assert line.endswith("the connection was refused (is PostgreSQL running and listening there?)")


def test_postgresql_that_never_answers_gives_up_within_the_timeout(
    env: dict[str, str], tmp_path: Path, taken_port: int
) -> None:
    # The taken port accepts the connection (the kernel's backlog) and never says a word.
    url = f"postgres://council@127.0.0.1:{taken_port}/council"
    result = council(
        "migrate", env=env | {"DATABASE_URL": url, "COUNCIL_DATABASE_TIMEOUT": "0.5"}, cwd=tmp_path
    )
    assert refused(result) == (
        f"council: cannot open the database {url}: no answer within 0.5 s (COUNCIL_DATABASE_TIMEOUT)"
    )


def test_a_missing_postgres_database_is_named(env: dict[str, str], tmp_path: Path) -> None:
    url = _postgres_or_skip().rsplit("/", 1)[0] + "/council_no_such_database"
    line = refused(council("migrate", env=env | {"DATABASE_URL": url}, cwd=tmp_path))
    assert line.endswith('database "council_no_such_database" does not exist')


@pytest.mark.parametrize(
    ("extra", "args", "expected"),
    [
        (
            {"SLACK_BOT_TOKEN": "xoxp-123-user"},
            [],
            "council: SLACK_BOT_TOKEN is not the Bot User OAuth Token: it starts with xoxp-, "
            "and should start with xoxb-",
        ),
        (
            {},
            ["--socket-mode"],
            "council: SLACK_APP_TOKEN is not set: Socket Mode needs the app-level token (xapp-…)",
        ),
        (
            {"SLACK_APP_TOKEN": "xoxb-1"},
            ["--socket-mode"],
            "council: SLACK_APP_TOKEN is not an App-Level Token: it starts with xoxb-, "
            "and should start with xapp-",
        ),
    ],
)
def test_tokens_of_the_wrong_kind_are_refused(
    env: dict[str, str], tmp_path: Path, extra: dict[str, str], args: list[str], expected: str
) -> None:
    assert refused(council("serve", *args, env=env | extra, cwd=tmp_path)) == expected


async def test_a_bot_token_slack_rejects_is_refused(env: dict[str, str], tmp_path: Path) -> None:
    async with FakeSlack() as fake:
        result = await asyncio.to_thread(
            council,
            "serve",
            env=env | {"SLACK_API_URL": fake.api_url, "SLACK_BOT_TOKEN": "xoxb-revoked"},
            cwd=tmp_path,
        )
        assert [call.method for call in fake.calls] == ["auth.test"]
    assert (
        refused(result) == "council: SLACK_BOT_TOKEN was refused by Slack (auth.test answered invalid_auth)"
    )


def test_a_typo_in_dot_env_is_named_and_does_not_stop_council(env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("SLACK_BOT_TOKN=xoxb-typo\nOTHER_TOOL_SETTING=1\nLOG_LEVEL=info\n")
    result = council("agent", "list", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines() == [
        "council: warning: .env: SLACK_BOT_TOKN is not a Council variable; did you mean SLACK_BOT_TOKEN?"
    ]


def test_credentials_into_a_closed_pipe_say_so_instead_of_a_traceback(
    env: dict[str, str], tmp_path: Path
) -> None:
    env = env | {"COUNCIL_SECRET_KEY": SERVER_KEY}
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody will ever read what council writes
    try:
        result = subprocess.run(  # noqa: S603 - runs our own CLI with fixed arguments
            [sys.executable, "-m", "bot.cli", "agent", "create", "refund-bot", "--owner", "U0OWNER01"],
            env=env,
            cwd=tmp_path,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "council: the output closed before the credentials were all written; "
        "`council agent rotate refund-bot` issues new ones"
    ]


def test_credentials_through_head_arrive_whole(env: dict[str, str], tmp_path: Path) -> None:
    env = env | {"COUNCIL_SECRET_KEY": SERVER_KEY}
    command = f"{sys.executable} -m bot.cli agent create refund-bot --owner U0OWNER01 --json | head -1"
    result = subprocess.run(  # noqa: S603 - the shell pipe is what is under test
        ["/bin/bash", "-o", "pipefail", "-c", command],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert '"api_key": "ck_' in result.stdout and '"signing_secret"' in result.stdout
    assert result.stderr == ""


async def test_serve_logs_where_it_listens_and_nothing_else_then_stops_on_sigterm(
    env: dict[str, str], tmp_path: Path
) -> None:
    async with FakeSlack() as fake:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "serve",
            env=env | {"SLACK_API_URL": fake.api_url, "SLACK_BOT_TOKEN": fake.token},
            cwd=tmp_path,
            stderr=asyncio.subprocess.PIPE,
        )
        assert process.stderr is not None
        lines = []
        while not lines or "listening" not in lines[-1]:
            line = await asyncio.wait_for(process.stderr.readline(), timeout=60)
            assert line, f"council serve exited: {lines}"
            lines.append(line.decode().strip())
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{env['PORT']}/readyz") as response,
        ):
            assert response.status == 200
            assert (await response.json())["slack"]["status"] == "ok"
        process.send_signal(signal.SIGTERM)
        _, rest = await asyncio.wait_for(process.communicate(), timeout=30)
    messages = [line.split(" ", 3)[3] for line in lines]  # without the date, time and level
    assert messages == [
        f"bot.keys: created a new server key in {tmp_path / 'council.key'} (mode 0600); "
        "keep it and back it up",
        f"bot.serve: Council listening on http://127.0.0.1:{env['PORT']}, "
        "HTTP mode (Slack posts to /slack/events)",
    ]
    assert process.returncode == 0
    assert rest.decode() == ""  # stopping is quiet too: no ORM or scheduler narration, no traceback
