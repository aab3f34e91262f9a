"""The `council` command as an admin runs it: clear one-line errors, idempotent config, credentials once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness import COUNCIL_YML


def run(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - runs our own CLI with fixed arguments
        [sys.executable, "-m", "bot.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "COUNCIL_", "DATABASE_URL"))}
    root = str(Path(__file__).resolve().parents[2])
    return clean | {
        "DATABASE_URL": f"sqlite://{tmp_path / 'council.db'}",
        "COUNCIL_SECRET_KEY_FILE": str(tmp_path / "council.key"),
        "PYTHONPATH": root,
    }


def test_serve_without_a_token_names_the_variable(env: dict[str, str], tmp_path: Path) -> None:
    result = run("serve", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "council: SLACK_BOT_TOKEN is not set: the bot token (xoxb-…) from your Slack app"
    ]


def test_serve_without_a_signing_secret_names_it(env: dict[str, str], tmp_path: Path) -> None:
    result = run("serve", env=env | {"SLACK_BOT_TOKEN": "xoxb-1"}, cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.startswith("council: SLACK_SIGNING_SECRET is not set")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            COUNCIL_YML.replace("type: majority", "type: bogus-rule"),
            "policies[0].rule.type: unknown rule 'bogus-rule'",
        ),
        (
            COUNCIL_YML.replace("timezone: Europe/Berlin", "timezone: Mars/Olympus"),
            "councils[0].timezone: unknown timezone 'Mars/Olympus'",
        ),
        (COUNCIL_YML.replace("{user: U0TECH001", "{user: nobody"), "councils[0].members[1].user"),
        (COUNCIL_YML.replace("deadline: 4h", "deadline: soon"), "policies[0].deadline"),
        (COUNCIL_YML + "surprise: true\n", "surprise: Extra inputs are not permitted"),
        ("councils: [\n", "line "),
        ("- just\n- a list\n", "the top level must be a mapping"),
    ],
)
def test_invalid_council_yml_is_refused_with_file_and_place(
    env: dict[str, str], tmp_path: Path, text: str, expected: str
) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(text)
    result = run("config", "apply", str(bad), env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith(f"council: {bad}: ") and expected in result.stderr
    assert "Traceback" not in result.stderr


def test_config_apply_is_idempotent_and_export_round_trips(env: dict[str, str], tmp_path: Path) -> None:
    good = tmp_path / "council.yml"
    good.write_text(COUNCIL_YML)
    first = run("config", "apply", str(good), env=env, cwd=tmp_path)
    assert first.returncode == 0 and "council ai-council: added" in first.stdout
    again = run("config", "apply", str(good), env=env, cwd=tmp_path)
    assert again.stdout.strip() == "no changes: the database already matches"
    exported = run("config", "export", env=env, cwd=tmp_path)
    (tmp_path / "exported.yml").write_text(exported.stdout)
    replay = run("config", "apply", str(tmp_path / "exported.yml"), env=env, cwd=tmp_path)
    assert replay.returncode == 0 and replay.stdout.strip() == "no changes: the database already matches"


def test_agent_create_prints_credentials_once_and_stores_them_hashed(
    env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "council.yml").write_text(COUNCIL_YML)
    run("config", "apply", str(tmp_path / "council.yml"), env=env, cwd=tmp_path)
    created = run(
        "agent",
        "create",
        "pricing-bot",
        "--owner",
        "U0OWNER01",
        "--council",
        "ai-council",
        "--json",
        env=env,
        cwd=tmp_path,
    )
    creds = json.loads(created.stdout)
    assert set(creds) == {"name", "api_key", "signing_secret"} and creds["api_key"].startswith("ck_")
    database = (tmp_path / "council.db").read_bytes()
    assert creds["api_key"].encode() not in database and creds["signing_secret"].encode() not in database
    twice = run("agent", "create", "pricing-bot", "--owner", "U0OWNER01", env=env, cwd=tmp_path)
    assert twice.returncode == 1 and "already exists; use `council agent rotate pricing-bot`" in twice.stderr
    listed = run("agent", "list", "--json", env=env, cwd=tmp_path)
    assert {row["name"] for row in json.loads(listed.stdout)} == {"refund-bot", "pricing-bot"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("agent", "create", "bot", "--owner", "alice"), "'alice' is not a Slack user id"),
        (("agent", "create", "Bad Name", "--owner", "U0OWNER01"), "is not a valid name"),
        (("agent", "create", "bot"), "the following arguments are required: --owner"),
        (
            ("agent", "create", "bot", "--owner", "U0OWNER01", "--council", "nowhere"),
            "no council named 'nowhere'",
        ),
        (("agent", "pause", "ghost"), "no agent named 'ghost'"),
        (("config", "apply", "missing.yml"), "missing.yml: cannot read"),
    ],
)
def test_bad_cli_arguments_get_one_clear_line(
    env: dict[str, str], tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    result = run(*args, env=env, cwd=tmp_path)
    assert result.returncode in (1, 2) and message in result.stderr
    assert "Traceback" not in result.stderr


def test_migrate_and_audit_verify(env: dict[str, str], tmp_path: Path) -> None:
    assert run("migrate", env=env, cwd=tmp_path).stdout.strip() == "database is up to date"
    verified = run("audit", "verify", env=env, cwd=tmp_path)
    assert verified.returncode == 0 and verified.stdout.strip() == "audit chain intact: 0 events"


def test_demo_runs_the_whole_loop_without_credentials(env: dict[str, str], tmp_path: Path) -> None:
    result = run("demo", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "signature verified; outcome approved" in result.stdout
    assert result.stdout.rstrip().endswith("Demo complete.")
