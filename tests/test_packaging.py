"""The Dockerfile and compose.yaml, checked as far as they can be without Docker."""

from __future__ import annotations

import asyncio
import re
import shlex
import sys
import tomllib
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest
import yaml
from tortoise.backends.base.config_generator import expand_db_url

from bot import preflight
from bot.cli import parser
from bot.outbox.worker import DRAIN_SECONDS
from bot.scheduler import STOP_WITHIN
from bot.settings import Settings
from tests.harness import Harness, free_port

ROOT = Path(__file__).resolve().parents[1]
COUNCIL_READS = {name.upper() for name in Settings.model_fields}
# What the image sets for Python and pip themselves, not for Council.
FOR_PYTHON = {
    "PYTHONDONTWRITEBYTECODE",
    "PYTHONUNBUFFERED",
    "PIP_NO_CACHE_DIR",
    "PIP_DISABLE_PIP_VERSION_CHECK",
}


def _instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions, (KEYWORD, arguments), with continued lines joined."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text(encoding="utf-8"))
    found = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keyword, _, arguments = line.strip().partition(" ")
            found.append((keyword.upper(), arguments.strip()))
    return found


def _all(keyword: str) -> list[str]:
    return [arguments for found, arguments in _instructions() if found == keyword]


def _exec_form(arguments: str) -> list[str]:
    parsed = yaml.safe_load(arguments)  # a JSON array is YAML too
    assert isinstance(parsed, list), f"{arguments}: use the exec form, so signals reach Council"
    return parsed


def _image_env() -> dict[str, str]:
    env = {}
    for arguments in _all("ENV"):
        for pair in shlex.split(arguments):
            name, _, value = pair.partition("=")
            env[name] = value
    return env


def _compose(environ: dict[str, str]) -> dict[str, Any]:
    """compose.yaml as compose reads it, with `${NAME}` and `${NAME:?why}` taken from `environ`."""

    def value(match: re.Match[str]) -> str:
        name, required = match.group(1), match.group(2)
        if name not in environ:
            assert required is None, f"compose would refuse to start: {required}"
            return ""
        return environ[name]

    text = (ROOT / "compose.yaml").read_text(encoding="utf-8")
    parsed = yaml.safe_load(re.sub(r"\$\{(\w+)(?::\?([^}]*))?\}", value, text))
    assert isinstance(parsed, dict)
    return parsed


def test_the_image_is_slim_python_running_council_serve() -> None:
    (base,) = _all("FROM")
    assert re.fullmatch(r"python:3\.1[1-9]-slim(-\w+)?", base)
    (entrypoint,), (command,) = _all("ENTRYPOINT"), _all("CMD")
    assert _exec_form(entrypoint) == ["council"]
    assert parser().parse_args(_exec_form(command)).command == "serve"


def test_council_runs_as_a_user_without_privileges() -> None:
    keywords = [keyword for keyword, _ in _instructions()]
    users = _all("USER")
    assert users, "the image would run Council as root"
    assert users[-1].split(":")[0] not in {"root", "0"}
    # Nothing runs as root after the switch, so the user is the one that runs Council.
    assert "RUN" not in keywords[len(keywords) - keywords[::-1].index("USER") :]


def test_the_image_serves_the_port_it_exposes() -> None:
    assert _all("EXPOSE") == [_image_env()["PORT"]]


def test_the_image_sets_only_what_council_and_python_read() -> None:
    env = _image_env()
    assert set(env) - COUNCIL_READS - FOR_PYTHON == set()
    # The key file and the SQLite database land on the volume the image declares.
    (volume,) = _all("VOLUME")
    assert Path(env["COUNCIL_SECRET_KEY_FILE"]).parent == Path(volume)
    assert Path(expand_db_url(env["DATABASE_URL"])["credentials"]["file_path"]).parent == Path(volume)


def test_the_build_copies_what_pip_install_needs_and_leaves_secrets_out() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    copied = {source for arguments in _all("COPY") for source in arguments.split()[:-1]}
    packages = {
        pattern.rstrip("*") for pattern in project["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    assert {"pyproject.toml", project["project"]["readme"]} | packages <= copied
    ignored = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if line and line[0] != "#"]
    assert not [source for source in copied if any(fnmatch(source, pattern) for pattern in ignored)]
    for secret in (".env", "council.key", "council.yml", "council.db", "council.db-wal"):
        assert any(fnmatch(secret, pattern) for pattern in ignored), secret


def _healthcheck() -> list[str]:
    (arguments,) = _all("HEALTHCHECK")
    _, _, command = arguments.partition(" CMD ")
    argv = _exec_form(command)
    assert argv[0] == "python"  # the slim image has no curl
    return [sys.executable, *argv[1:]]


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: the healthcheck asks the process, not the database."""
    return f"sqlite://{tmp_path / 'council.db'}"


async def _exit_status(argv: list[str], port: int) -> int:
    # Run beside the server, not blocking the loop it answers on.
    process = await asyncio.create_subprocess_exec(
        *argv, env={"PORT": str(port)}, stderr=asyncio.subprocess.DEVNULL
    )
    return await process.wait()


async def test_the_healthcheck_passes_on_a_serving_council_and_fails_without_one(council: Harness) -> None:
    port = int(council.url.rsplit(":", 1)[1])
    assert await _exit_status(_healthcheck(), port) == 0
    assert await _exit_status(_healthcheck(), free_port()) != 0


def test_compose_points_council_at_its_postgres_service() -> None:
    services = _compose({"POSTGRES_PASSWORD": "s3cret"})["services"]
    postgres, council = services["postgres"], services["council"]
    assert postgres["image"].startswith("postgres:16")
    assert postgres["healthcheck"]["test"]
    assert any(volume.endswith(":/var/lib/postgresql/data") for volume in postgres["volumes"])
    url = preflight.database_url(council["environment"]["DATABASE_URL"])
    credentials = expand_db_url(url)["credentials"]
    assert url.startswith("postgres://")
    assert credentials["host"] in services
    assert services[credentials["host"]] is postgres
    db = postgres["environment"]
    expected = (db["POSTGRES_USER"], db["POSTGRES_PASSWORD"], db["POSTGRES_DB"])
    assert (credentials["user"], credentials["password"], credentials["database"]) == expected
    assert council["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_compose_refuses_to_start_without_a_database_password() -> None:
    with pytest.raises(AssertionError, match="POSTGRES_PASSWORD"):
        _compose({})


def test_compose_builds_the_image_and_sets_only_what_council_reads() -> None:
    council = _compose({"POSTGRES_PASSWORD": "s3cret"})["services"]["council"]
    assert council["build"] == "."
    environment = council["environment"]
    assert set(environment) - COUNCIL_READS == set()
    assert parser().parse_args(council["command"]).command == "serve"
    assert [port.split(":")[-1] for port in council["ports"]] == [_image_env()["PORT"]]
    # The server key file is kept on a named volume, so it outlives the container.
    mounts = {v.split(":")[1]: v.split(":")[0] for v in council["volumes"] if isinstance(v, str)}
    key_folder = str(Path(environment["COUNCIL_SECRET_KEY_FILE"]).parent)
    assert mounts.get(key_folder) in _compose({"POSTGRES_PASSWORD": "s3cret"})["volumes"]
    # The council.yml it applies is the one beside compose.yaml, and compose stops when it is missing.
    (config,) = [v for v in council["volumes"] if isinstance(v, dict)]
    assert (config["source"], config["target"]) == ("./council.yml", environment["COUNCIL_CONFIG"])
    assert config["bind"]["create_host_path"] is False


def test_compose_waits_for_council_to_stop_cleanly() -> None:
    council = _compose({"POSTGRES_PASSWORD": "s3cret"})["services"]["council"]
    grace = re.fullmatch(r"(\d+)s", council["stop_grace_period"])
    assert grace is not None
    # The timers, then the outbox worker, each get their own time to finish on SIGTERM (long polls
    # are answered at once: tests/bot/test_shutdown.py).
    assert int(grace.group(1)) > STOP_WITHIN + DRAIN_SECONDS
