"""The server key: refused when weak, never a silent empty key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
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
