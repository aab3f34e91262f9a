"""`council digest show`: a council's digest for a week, as the Slack message says it, or as JSON."""

from __future__ import annotations

import argparse
import html
import json
import re

from bot.services import digest
from bot.slack import digest_message

MENTION = re.compile(r"<@([A-Z0-9]+)>")
CHANNEL = re.compile(r"<#([A-Z0-9]+)>")


async def show(args: argparse.Namespace) -> int:
    """Print each named council's digest (every council in use by default); exit 0."""
    councils = await digest.council_named(args.council)
    found = [await digest.compute(council, digest.read_week(council, args.week)) for council in councils]
    if args.json:
        payload = [each.model_dump(mode="json") for each in found]
        print(json.dumps(payload[0] if args.council else payload, indent=2))
        return 0
    if not found:
        print("no councils yet: add one to council.yml and `council config apply` it")
    for i, each in enumerate(found):
        if i:
            print()
        print(plain(each))
    return 0


def plain(found: digest.Digest) -> str:
    """The digest message as plain text: the same lines, without Slack's markup."""
    _, blocks = digest_message.render(found)
    lines: list[str] = []
    for block in blocks:
        if block["type"] == "header":
            lines.append(block["text"]["text"])
        elif block["type"] == "section":
            lines.extend(["", _unmark(block["text"]["text"])])
        elif block["type"] == "context":
            lines.append(
                _unmark(" ".join(e["text"] for e in block["elements"])).replace(
                    " The chart is in the thread.", ""
                )
            )
    return "\n".join(lines)


def _unmark(text: str) -> str:
    text = MENTION.sub(r"@\1", CHANNEL.sub(r"#\1", text))
    return html.unescape(text.replace("*", "").replace("`", ""))
