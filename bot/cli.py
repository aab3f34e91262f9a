"""The `council` command: serve, demo, agents, council.yml, migrations, the audit, the outbox, the digest."""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import os
import re
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, timedelta
from pathlib import Path

from pydantic import ValidationError

from bot import db
from bot.council_file import NAME_PATTERN, USER_ID_PATTERN
from bot.errors import ConfigError, CouncilError
from bot.mcp_server import command as mcp_command
from bot.settings import Settings, StartupError, env_file_typos

USER_ID = re.compile(USER_ID_PATTERN)
NAME = re.compile(NAME_PATTERN)
HEAD_HASH = re.compile(r"[0-9a-f]{64}")


def _user_id(value: str) -> str:
    if not USER_ID.match(value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a Slack user id (like U0123ABCD)")
    return value


def _port(value: str) -> int:
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number (1-65535)")
    return int(value)


def _name(value: str) -> str:
    if not NAME.match(value):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a valid name (lowercase letters, digits, '-' and '_', up to 80)"
        )
    return value


def _head_hash(value: str) -> str:
    if not HEAD_HASH.fullmatch(value.lower()):
        raise argparse.ArgumentTypeError(f"{value!r} is not an audit head hash (64 hexadecimal digits)")
    return value.lower()


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="council", description="Council: a Slack council that owns what AI agents do."
    )
    root.add_argument("--version", action="version", version=f"council {_version()}")
    commands = root.add_subparsers(
        dest="command", required=True, metavar="COMMAND", help="run `council COMMAND --help` for its options"
    )
    serve = commands.add_parser("serve", help="migrate, then serve Slack and the agent API")
    serve.add_argument("--socket-mode", action="store_true", help="connect to Slack over Socket Mode")
    serve.add_argument("--host", help="listen address (default HOST or 0.0.0.0)")
    serve.add_argument("--port", type=_port, help="listen port (default PORT or 3000)")
    serve.add_argument(
        "--allow-empty",
        action="store_true",
        help="apply a council.yml without admins, councils or policies (or set COUNCIL_ALLOW_EMPTY=true)",
    )
    commands.add_parser("demo", help="run the whole loop with a built-in Slack stand-in")
    commands.add_parser("migrate", help="bring the database schema up to date")
    agent = commands.add_parser("agent", help="create and manage agents").add_subparsers(
        dest="agent_command", required=True, metavar="ACTION", help="what to do with the agent"
    )
    create = agent.add_parser("create", help="create an agent and print its credentials once")
    create.add_argument("name", type=_name, help="the agent's name (lowercase letters, digits, '-', '_')")
    create.add_argument(
        "--owner", type=_user_id, required=True, help="Slack user id of the accountable owner"
    )
    create.add_argument("--council", type=_name, help="its council, for escalations no policy routes")
    create.add_argument("--json", action="store_true", help='print {"name", "api_key", "signing_secret"}')
    rotate = agent.add_parser(
        "rotate", help="issue new credentials; the old ones keep working for 24 h unless --now"
    )
    rotate.add_argument("name", type=_name, help="the agent whose keys to replace")
    rotate.add_argument("--now", action="store_true", help="revoke the old key and signing secret at once")
    rotate.add_argument(
        "--json", action="store_true", help='print {"name", "api_key", "signing_secret", "old_valid_until"}'
    )
    pause = agent.add_parser("pause", help="stop an agent: its requests are refused")
    pause.add_argument("name", type=_name, help="the agent to stop")
    pause.add_argument("--reason", help="why, shown to the agent and kept in the audit trail")
    resume = agent.add_parser("resume", help="let a paused agent escalate again")
    resume.add_argument("name", type=_name, help="the paused agent")
    listing = agent.add_parser("list", help="list agents")
    listing.add_argument("--json", action="store_true", help="print a JSON list")
    config = commands.add_parser("config", help="council.yml in and out").add_subparsers(
        dest="config_command", required=True, metavar="ACTION", help="apply a file, or export one"
    )
    apply = config.add_parser(
        "apply", help="make the database match a council.yml, printing each change (idempotent)"
    )
    apply.add_argument("file", type=Path, help="the council.yml to apply")
    apply.add_argument(
        "--dry-run", action="store_true", help="print the changes it would make, and change nothing"
    )
    apply.add_argument(
        "--allow-empty",
        action="store_true",
        help="apply a file without admins, councils or policies (otherwise refused: it would wipe them)",
    )
    apply.add_argument(
        "--force",
        action="store_true",
        help="apply even if it undoes changes made from Slack since the last one",
    )
    config.add_parser("export", help="print the configuration as council.yml")
    audit = commands.add_parser("audit", help="the audit trail").add_subparsers(
        dest="audit_command", required=True, metavar="ACTION", help="verify the chain, or print its head"
    )
    verify = audit.add_parser(
        "verify", help="check the hash chain and its checkpoints (exit 1 when broken or truncated)"
    )
    verify.add_argument(
        "--expect",
        metavar="HASH",
        type=_head_hash,
        help="a head printed earlier by `council audit checkpoint`: the chain must still hold it",
    )
    checkpoint = audit.add_parser(
        "checkpoint", help="verify, then print the head (count, hash) to keep outside the database"
    )
    checkpoint.add_argument("--json", action="store_true", help='print {"count", "hash", "at"}')
    _outbox_parser(commands)
    digest = commands.add_parser("digest", help="the weekly digest").add_subparsers(
        dest="digest_command", required=True, metavar="ACTION", help="show a week's digest"
    )
    show = digest.add_parser("show", help="print a council's digest for a week (the last complete one)")
    show.add_argument("--council", type=_name, help="one council (default: every council in use)")
    show.add_argument("--week", type=_week, help="the ISO week, YYYY-Www (default: the last complete one)")
    show.add_argument("--json", action="store_true", help="print the figures as JSON")
    _policy_parser(commands)
    mcp_command.add_parser(commands, _port)
    return root


PERIOD = re.compile(r"([0-9]+)([dh])")


def _period(value: str) -> timedelta:
    found = PERIOD.fullmatch(value)
    if found is None:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a period; write a number of days or hours, for example 7d, 30d or 12h"
        )
    period = timedelta(days=int(found[1])) if found[2] == "d" else timedelta(hours=int(found[1]))
    if not period:
        raise argparse.ArgumentTypeError(f"{value!r} is not a period: it must be longer than zero")
    if period > timedelta(days=366):
        raise argparse.ArgumentTypeError(f"{value!r} is too long a period: at most 366d")
    return period


def _policy_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    policy = commands.add_parser("policy", help="try policies before applying them").add_subparsers(
        dest="policy_command", required=True, metavar="ACTION", help="simulate a proposed council.yml"
    )
    simulate = policy.add_parser(
        "simulate", help="replay past escalations through a proposed council.yml; changes nothing"
    )
    simulate.add_argument("file", type=Path, help="the proposed council.yml")
    simulate.add_argument(
        "--since",
        type=_period,
        default="30d",
        metavar="PERIOD",
        help="the period to replay, like 7d or 12h (default 30d)",
    )
    simulate.add_argument("--json", action="store_true", help="print the figures as JSON")


def _week(value: str) -> str:
    found = re.fullmatch(r"(\d{4})-W(\d{2})", value)
    if found is None:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a week; write it as YYYY-Www, for example 2026-W49"
        )
    try:
        date.fromisocalendar(int(found[1]), int(found[2]), 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{found[1]} has no week {found[2]}") from None
    return value


def _row_id(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not an outbox row id (a number `outbox list` shows)")
    return int(value)


def _outbox_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    outbox = commands.add_parser("outbox", help="deliveries to Slack and agents").add_subparsers(
        dest="outbox_command", required=True, metavar="ACTION", help="list what waits, or retry dead ones"
    )
    listing = outbox.add_parser("list", help="list the deliveries still waiting and the dead ones")
    listing.add_argument("--dead", action="store_true", help="only the dead ones (given up after retries)")
    listing.add_argument("--json", action="store_true", help="print a JSON list")
    retry = outbox.add_parser("retry", help="send dead deliveries again, due at once")
    which = retry.add_mutually_exclusive_group(required=True)
    which.add_argument("id", nargs="?", type=_row_id, help="the dead row to retry (its id in `outbox list`)")
    which.add_argument("--all-dead", action="store_true", help="retry every dead delivery")


def _version() -> str:
    try:
        return importlib.metadata.version("council")
    except importlib.metadata.PackageNotFoundError:
        return "(not installed: version unknown)"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = parser().parse_args(argv)
    if args.command == "mcp":  # a client of a running Council: none of the server's settings apply
        return mcp_command.run(args)
    try:
        settings = Settings()
    except ValidationError as error:
        first = error.errors()[0]
        print(f"council: {str(first['loc'][0]).upper()}: {first['msg']}", file=sys.stderr)
        return 2
    for typo in env_file_typos():
        print(f"council: warning: {typo}", file=sys.stderr)
    try:
        status = _run(args, settings)
        sys.stdout.flush()
    except StartupError as error:
        print(f"council: {error}", file=sys.stderr)
        return 2
    except ConfigError as error:
        print(f"council: {error.message}", file=sys.stderr)
        return 2
    except CouncilError as error:
        print(f"council: {error.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return _output_closed(args)
    return status


def _output_closed(args: argparse.Namespace) -> int:
    """The reader of our output went away before all of it was written (`| head`, a closed pipe).

    Say so on stderr, and point stdout at /dev/null so that Python's own flush at exit stays quiet.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    if args.command == "agent" and args.agent_command in ("create", "rotate"):
        print(
            f"council: the output closed before the credentials were all written; "
            f"`council agent rotate {args.name}` issues new ones",
            file=sys.stderr,
        )
    else:
        print("council: the output closed before the answer was all written", file=sys.stderr)
    return 1


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "serve":
        from bot.serve import serve

        return serve(
            settings,
            socket_mode=args.socket_mode,
            host=args.host,
            port=args.port,
            allow_empty=args.allow_empty or settings.council_allow_empty,
        )
    if args.command == "demo":
        from bot.demo import run_demo

        return asyncio.run(run_demo())
    return asyncio.run(_with_database(settings, _command(args, settings)))


def _command(args: argparse.Namespace, settings: Settings) -> Callable[[], Awaitable[int]]:
    """Pick the command's coroutine; it runs once the database is open."""
    run = {
        "migrate": _migrate,
        "agent": _agent,
        "config": _configure,
        "audit": _audit,
        "outbox": _outbox,
        "digest": _digest,
        "policy": _policy,
    }[args.command]
    return lambda: run(args, settings)


async def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    print("database is up to date")
    return 0


async def _agent(args: argparse.Namespace, settings: Settings) -> int:
    from bot import agent_commands

    return await agent_commands.run(args, settings)


async def _configure(args: argparse.Namespace, settings: Settings) -> int:
    from bot import config_commands

    if args.config_command == "apply":
        return await config_commands.apply(args)
    return await config_commands.export()


async def _audit(args: argparse.Namespace, settings: Settings) -> int:
    from bot import audit_commands

    if args.audit_command == "checkpoint":
        return await audit_commands.checkpoint(args)
    return await audit_commands.verify(args)


async def _outbox(args: argparse.Namespace, settings: Settings) -> int:
    from bot import outbox_commands

    if args.outbox_command == "retry":
        return await outbox_commands.retry(args)
    return await outbox_commands.listing(args)


async def _digest(args: argparse.Namespace, settings: Settings) -> int:
    from bot import digest_commands

    return await digest_commands.show(args)


async def _policy(args: argparse.Namespace, settings: Settings) -> int:
    from bot import policy_commands

    return await policy_commands.simulate(args)


async def _with_database(settings: Settings, command: Callable[[], Awaitable[int]]) -> int:
    await db.init(settings.database_url, connect_within=settings.council_database_timeout)
    try:
        return await command()
    finally:
        await db.close()


if __name__ == "__main__":
    raise SystemExit(main())
