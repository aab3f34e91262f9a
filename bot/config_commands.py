"""`council config apply` and `export`: council.yml in and out, without undoing what Slack changed."""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from bot.council_file import parse
from bot.errors import ConfigError
from bot.services import config, drift


async def apply(args: argparse.Namespace) -> int:
    """Print what the file changes; refuse (exit 1) to undo changes made from Slack without --force."""
    source = str(args.file)
    parsed = parse(read(args.file), source=source)
    plan = await drift.plan(parsed, source=source, allow_empty=args.allow_empty)
    lines = plan.report.changes
    if args.dry_run or (plan.undone and not args.force):
        if lines:
            print("\n".join(lines))
        if plan.undone:
            print("these changes made from Slack since the last apply would be undone:")
            print("\n".join(f"  {change.describe()}" for change in plan.undone))
        if args.dry_run:
            count = len(lines)
            print(
                f"dry run: nothing applied ({count} change{'' if count == 1 else 's'})"
                if lines
                else NO_CHANGES
            )
            return 0
        print(
            "council: not applied. Put them in the file (`council config export` prints the database's "
            "state), or give --force to undo them.",
        )
        return 1
    report = await config.apply(parsed, allow_empty=args.allow_empty, source=source)
    print("\n".join(report.changes) if report.changes else NO_CHANGES)
    return 0


async def export() -> int:
    print(yaml.safe_dump(await config.export(), sort_keys=False, allow_unicode=True), end="")
    return 0


NO_CHANGES = "no changes: the database already matches"


def read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}") from None
