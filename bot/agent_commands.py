"""`council agent …`: create agents and rotate their keys (credentials printed once), pause, resume, list."""

from __future__ import annotations

import argparse
import json
from datetime import timedelta

from bot import keys
from bot.services import agents
from bot.settings import Settings


async def run(args: argparse.Namespace, settings: Settings) -> int:
    """`council agent create|rotate|pause|resume|list`."""
    if args.agent_command in ("create", "rotate"):
        return await credentials(args, settings)
    if args.agent_command == "pause":
        changed = await agents.pause(name=args.name, reason=args.reason, actor="cli")
    elif args.agent_command == "resume":
        changed = await agents.resume(name=args.name, actor="cli")
    else:
        return await listing(args)
    print(f"agent {changed.name} is {changed.status}")
    return 0


async def credentials(args: argparse.Namespace, settings: Settings) -> int:
    """Create an agent or rotate its keys, and print its credentials this once."""
    server_key = keys.load_server_key(settings)
    if args.agent_command == "create":
        creds = await agents.create(
            name=args.name, owner=args.owner, council=args.council, server_key=server_key
        )
    else:
        grace = timedelta(0) if args.now else agents.ROTATION_GRACE
        creds = await agents.rotate(name=args.name, server_key=server_key, grace=grace)
    until = creds.old_valid_until.isoformat() if creds.old_valid_until else None
    if args.json:
        shown = {"name": creds.name, "api_key": creds.api_key, "signing_secret": creds.signing_secret}
        print(json.dumps(shown | ({"old_valid_until": until} if args.agent_command == "rotate" else {})))
        return 0
    print(
        f"Agent {creds.name}: credentials are shown once; store them now.\n"
        f"  API key:        {creds.api_key}\n  signing secret: {creds.signing_secret}"
    )
    if args.agent_command == "rotate" and not args.now:
        print(f"The old key and signing secret keep working until {until}; `--now` revokes them at once.")
    elif args.agent_command == "rotate":
        print("The old key and signing secret are revoked.")
    return 0


async def listing(args: argparse.Namespace) -> int:
    rows = await agents.listing()
    if args.json:
        print(json.dumps(rows))
        return 0
    if not rows:
        print("no agents")
    for row in rows:
        council_name = row["council"] or "-"
        print(f"{row['name']:24} {row['status']:8} owner {row['owner']}  council {council_name}")
    return 0
