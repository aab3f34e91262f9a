"""The server key: refused when weak, made once and atomically, and never a silent empty key."""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bot import keys
from bot.settings import InvalidSetting, MissingSetting, Settings

GOOD_KEY = "0123456789abcdef" * 4


def _settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(_env_file=None, council_secret_key_file=tmp_path / "council.key", **values)


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("", "COUNCIL_SECRET_KEY is empty;"),
        ("   ", "COUNCIL_SECRET_KEY is empty;"),
        ("hunter2", "COUNCIL_SECRET_KEY is too short (7 characters);"),
        ("x" * 31, "COUNCIL_SECRET_KEY is too short (31 characters);"),
    ],
)
def test_a_weak_secret_key_variable_is_refused(tmp_path: Path, key: str, problem: str) -> None:
    with pytest.raises(InvalidSetting) as refused:
        keys.load_server_key(_settings(tmp_path, council_secret_key=key))
    assert str(refused.value).startswith(problem)
    assert "at least 32 characters" in str(refused.value) and isinstance(refused.value, MissingSetting)
    assert not (tmp_path / "council.key").exists()


def test_a_long_enough_secret_key_variable_is_used_as_given(tmp_path: Path) -> None:
    assert keys.load_server_key(_settings(tmp_path, council_secret_key="y" * 32)) == b"y" * 32


@pytest.mark.parametrize(("text", "length"), [("", 0), ("\n", 0), ("short-key\n", 9), ("z" * 31, 31)])
def test_a_weak_key_file_is_refused(tmp_path: Path, text: str, length: int) -> None:
    (tmp_path / "council.key").write_text(text)
    with pytest.raises(InvalidSetting) as refused:
        keys.load_server_key(_settings(tmp_path))
    state = f"too short ({length} characters)" if length else "empty"
    assert str(refused.value).startswith(f"COUNCIL_SECRET_KEY_FILE {tmp_path / 'council.key'} is {state};")


def test_a_key_file_is_read_without_its_surrounding_whitespace(tmp_path: Path) -> None:
    (tmp_path / "council.key").write_text(f"  {GOOD_KEY}\n")
    assert keys.load_server_key(_settings(tmp_path)) == GOOD_KEY.encode()


def test_a_key_file_that_cannot_be_made_is_one_clear_error(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, council_secret_key_file=tmp_path / "missing" / "council.key")
    with pytest.raises(InvalidSetting, match="cannot be created: No such file or directory"):
        keys.load_server_key(settings)


def test_a_new_key_file_is_private_logged_once_and_kept(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.keys")
    first = keys.load_server_key(_settings(tmp_path))
    path = tmp_path / "council.key"
    assert len(first) == 64 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [r.getMessage() for r in caplog.records] == [
        f"created a new server key in {path} (mode 0600); keep it and back it up"
    ]
    assert keys.load_server_key(_settings(tmp_path)) == first
    assert len(caplog.records) == 1 and os.listdir(tmp_path) == ["council.key"]


def _start_together(settings: Settings, replicas: int) -> list[bytes | Exception]:
    """Load the server key in several threads released at the same instant; return what each got."""
    start = threading.Barrier(replicas)
    seen: list[bytes | Exception] = []

    def replica() -> None:
        start.wait()
        try:
            seen.append(keys.load_server_key(settings))
        except Exception as error:  # The test shows whatever a replica hit.
            seen.append(error)

    threads = [threading.Thread(target=replica) for _ in range(replicas)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return seen


def test_replicas_starting_together_end_with_one_key(tmp_path: Path) -> None:
    for attempt in range(20):
        folder = tmp_path / str(attempt)
        folder.mkdir()
        seen = _start_together(_settings(folder), replicas=8)
        assert len(set(seen)) == 1, seen
        assert seen[0] == (folder / "council.key").read_text().strip().encode()
        assert os.listdir(folder) == ["council.key"]


def _council(*args: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "COUNCIL_", "DATABASE_URL"))}
    return subprocess.run(  # noqa: S603 - runs our own CLI with fixed arguments
        [sys.executable, "-m", "bot.cli", *args],
        env=clean
        | {
            "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
            "DATABASE_URL": f"sqlite://{tmp_path / 'council.db'}",
            "COUNCIL_SECRET_KEY_FILE": str(tmp_path / "council.key"),
            "SLACK_BOT_TOKEN": "xoxb-1",
            "SLACK_SIGNING_SECRET": "signing-secret",
            "HOST": "127.0.0.1",
            "PORT": "0",
        }
        | env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


CREATE = ("agent", "create", "pricing-bot", "--owner", "U0OWNER01", "--json")


@pytest.mark.parametrize("command", [("serve",), CREATE], ids=["serve", "agent-create"])
@pytest.mark.parametrize(
    ("key", "file", "line"),
    [
        ("", None, "council: COUNCIL_SECRET_KEY is empty; a server key needs at least 32 characters: "),
        (
            "too-short",
            None,
            "council: COUNCIL_SECRET_KEY is too short (9 characters); a server key needs at least 32 "
            "characters: make one with `python3 -c 'import secrets; print(secrets.token_hex(32))'`",
        ),
        (None, "", "council: COUNCIL_SECRET_KEY_FILE {file} is empty; a server key needs at least 32 "),
    ],
    ids=["empty-variable", "short-variable", "empty-file"],
)
def test_the_cli_stops_on_a_weak_server_key_with_one_line(
    tmp_path: Path, command: tuple[str, ...], key: str | None, file: str | None, line: str
) -> None:
    env = {} if key is None else {"COUNCIL_SECRET_KEY": key}
    if file is not None:
        (tmp_path / "council.key").write_text(file)
    result = _council(*command, tmp_path=tmp_path, **env)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(line.format(file=tmp_path / "council.key"))
    assert result.stdout == ""
    if command == CREATE:
        listed = _council("agent", "list", "--json", tmp_path=tmp_path, COUNCIL_SECRET_KEY=GOOD_KEY)
        assert json.loads(listed.stdout) == []


def test_the_cli_says_where_it_made_a_new_key_and_never_prints_it(tmp_path: Path) -> None:
    result = _council(*CREATE, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    key = (tmp_path / "council.key").read_text().strip()
    assert result.stderr.splitlines() == [
        f"created a new server key in {tmp_path / 'council.key'} (mode 0600); keep it and back it up"
    ]
    assert key not in result.stderr and key not in result.stdout
    again = _council(*CREATE[:2], "other-bot", "--owner", "U0OWNER01", tmp_path=tmp_path)
    assert again.returncode == 0 and again.stderr == ""
