"""The `council` command as an admin runs it: clear one-line errors, idempotent config, credentials once."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.metadata
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import cli
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
    assert result.returncode == 2
    assert result.stderr.startswith(f"council: {bad}: ") and expected in result.stderr
    assert "Traceback" not in result.stderr


def test_config_apply_is_idempotent_and_export_round_trips(env: dict[str, str], tmp_path: Path) -> None:
    good = tmp_path / "council.yml"
    good.write_text(COUNCIL_YML)
    first = run("config", "apply", str(good), env=env, cwd=tmp_path)
    assert first.returncode == 0 and "+ council ai-council (channel C0COUNCIL)" in first.stdout
    again = run("config", "apply", str(good), env=env, cwd=tmp_path)
    assert again.stdout.strip() == "no changes: the database already matches"
    exported = run("config", "export", env=env, cwd=tmp_path)
    (tmp_path / "exported.yml").write_text(exported.stdout)
    replay = run("config", "apply", str(tmp_path / "exported.yml"), env=env, cwd=tmp_path)
    assert replay.returncode == 0 and replay.stdout.strip() == "no changes: the database already matches"


def test_an_empty_council_yml_is_refused_in_one_line_and_allowed_on_request(
    env: dict[str, str], tmp_path: Path
) -> None:
    good, empty = tmp_path / "council.yml", tmp_path / "empty.yml"
    good.write_text(COUNCIL_YML)
    empty.write_text("")
    assert run("config", "apply", str(good), env=env, cwd=tmp_path).returncode == 0
    refused = run("config", "apply", str(empty), env=env, cwd=tmp_path)
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.splitlines() == [
        f"council: {empty}: refused: no admins, councils, policies (applying it would remove every admin, "
        "every council, every policy); fix the file, or give --allow-empty if that is what you mean"
    ]
    assert "U0ADMIN01" in run("config", "export", env=env, cwd=tmp_path).stdout
    allowed = run("config", "apply", "--allow-empty", str(empty), env=env, cwd=tmp_path)
    assert allowed.returncode == 0 and "- admins: cleared" in allowed.stdout.splitlines()


def test_a_dry_run_prints_the_difference_and_applies_nothing(env: dict[str, str], tmp_path: Path) -> None:
    good = tmp_path / "council.yml"
    good.write_text(COUNCIL_YML)
    dry = run("config", "apply", "--dry-run", str(good), env=env, cwd=tmp_path)
    assert dry.returncode == 0
    lines = dry.stdout.splitlines()
    assert lines[0] == "+ council ai-council (channel C0COUNCIL)"
    assert lines[-1] == f"dry run: nothing applied ({len(lines) - 1} changes)"
    real = run("config", "apply", str(good), env=env, cwd=tmp_path)
    assert real.stdout.splitlines() == lines[:-1]


def test_an_agent_council_yml_owns_keeps_its_owner(env: dict[str, str], tmp_path: Path) -> None:
    good = tmp_path / "council.yml"
    good.write_text(COUNCIL_YML)
    run("config", "apply", str(good), env=env, cwd=tmp_path)
    flipped = run("agent", "create", "refund-bot", "--owner", "U0SOMEONE", env=env, cwd=tmp_path)
    assert flipped.returncode == 1 and flipped.stdout == ""
    assert flipped.stderr.splitlines()[-1] == (
        "council: council.yml declares agent refund-bot with owner U0OWNER01, not U0SOMEONE; "
        "change the owner in council.yml and apply it"
    )


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
    assert verified.returncode == 0
    assert (
        verified.stdout.strip()
        == "audit chain intact: 0 events; no checkpoint to compare with (pass --expect HASH)"
    )


def _delete(db_file: Path, sql: str) -> None:
    with contextlib.closing(sqlite3.connect(db_file)) as conn, conn:
        conn.execute(sql)


def test_audit_verify_reports_a_truncated_chain(env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "council.yml").write_text(COUNCIL_YML)
    run("config", "apply", str(tmp_path / "council.yml"), env=env, cwd=tmp_path)
    for name in ("a-bot", "b-bot"):
        run("agent", "create", name, "--owner", "U0OWNER01", env=env, cwd=tmp_path)
    before = run("audit", "verify", env=env, cwd=tmp_path)
    assert before.stdout.strip() == "audit chain intact: 3 events, reaching its one checkpoint"
    # The first leaves the head behind beside the row appends move on; the second finds it already kept.
    shown = run("audit", "checkpoint", env=env, cwd=tmp_path)
    kept = json.loads(run("audit", "checkpoint", "--json", env=env, cwd=tmp_path).stdout)
    assert (
        shown.returncode == 0
        and shown.stdout.splitlines()[0] == f"audit head: {kept['count']} events, hash {kept['hash']}"
    )
    verified = run("audit", "verify", "--expect", kept["hash"].upper(), env=env, cwd=tmp_path)
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.strip() == (
        f"audit chain intact: {kept['count']} events, reaching all 2 checkpoints, "
        f"holding the expected head as event number {kept['count']}"
    )

    _delete(tmp_path / "council.db", "DELETE FROM audit_event WHERE id = (SELECT max(id) FROM audit_event)")
    cut = run("audit", "verify", env=env, cwd=tmp_path)
    assert cut.returncode == 1 and cut.stdout == "" and "Traceback" not in cut.stderr
    assert cut.stderr.startswith(
        f"audit chain BROKEN: truncated: {kept['count'] - 1} events, but the checkpoint of "
    )
    assert f"recorded {kept['count']} (head {kept['hash']}) (2 checkpoints not reached)" in cut.stderr
    refused = run("audit", "checkpoint", env=env, cwd=tmp_path)
    assert refused.returncode == 1 and refused.stdout == "" and "BROKEN: truncated" in refused.stderr

    _delete(tmp_path / "council.db", "DELETE FROM audit_checkpoint")
    assert run("audit", "verify", env=env, cwd=tmp_path).returncode == 0  # undetectable from inside
    expected = run("audit", "verify", "--expect", kept["hash"], env=env, cwd=tmp_path)
    assert expected.returncode == 1 and expected.stderr.strip() == (
        f"audit chain BROKEN: truncated or rewritten: the expected head {kept['hash']} is not in the "
        f"chain of {kept['count'] - 1} events"
    )
    malformed = run("audit", "verify", "--expect", "abc", env=env, cwd=tmp_path)
    assert malformed.returncode == 2 and "'abc' is not an audit head hash" in malformed.stderr


def test_demo_runs_the_whole_loop_without_credentials(env: dict[str, str], tmp_path: Path) -> None:
    result = run("demo", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "signature verified; outcome approved" in result.stdout
    assert result.stdout.rstrip().endswith("Demo complete.")


def _every_action(parser: argparse.ArgumentParser, path: str) -> Iterator[tuple[str, argparse.Action]]:
    for action in parser._actions:
        yield path, action
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _every_action(sub, f"{path} {name}")


def test_every_option_and_argument_says_what_it_is_for() -> None:
    actions = list(_every_action(cli.parser(), "council"))
    assert len(actions) > 30
    missing = [f"{path} {action.dest}" for path, action in actions if not action.help]
    assert missing == []


def test_version_comes_from_the_package(env: dict[str, str], tmp_path: Path) -> None:
    result = run("--version", env=env, cwd=tmp_path)
    assert result.returncode == 0 and result.stdout == f"council {importlib.metadata.version('council')}\n"


def test_agent_list_says_when_there_are_none(env: dict[str, str], tmp_path: Path) -> None:
    listed = run("agent", "list", env=env, cwd=tmp_path)
    assert listed.returncode == 0 and listed.stdout == "no agents\n"
    as_json = run("agent", "list", "--json", env=env, cwd=tmp_path)
    assert as_json.returncode == 0 and json.loads(as_json.stdout) == []


async def test_commands_migrating_one_database_at_once_all_succeed(
    env: dict[str, str], tmp_path: Path, database_url: str
) -> None:
    # `council serve` starting while an admin runs `council agent create`, or two replicas starting
    # together: each migrates first, and only one may apply a migration at a time.
    async def migrate() -> tuple[int, bytes]:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "migrate",
            env=env | {"DATABASE_URL": database_url},
            cwd=tmp_path,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            _, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
        except TimeoutError:
            process.kill()
            await process.wait()
            return -1, b"still migrating after 120 s"
        return process.returncode or 0, stderr

    results = await asyncio.gather(*(migrate() for _ in range(4)))
    assert results == [(0, b"")] * 4
