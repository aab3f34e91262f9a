"""A small Slack Web API stand-in for `council demo`: answers like Slack and remembers what it saw."""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Seen:
    """One thing a person would have seen in Slack."""

    where: str
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    ts: str = ""
    metadata: dict[str, Any] | None = None


class SlackStandIn:
    """Serves chat.*, views.open, conversations.* and response URLs on a local port."""

    def __init__(self) -> None:
        self.channels: dict[str, list[Seen]] = {}
        self.feed: list[Seen] = []
        self.views: list[dict[str, Any]] = []
        self._ts = itertools.count(1)
        self.app = web.Application()
        self.app.router.add_post("/api/{method}", self._api)
        self.app.router.add_post("/respond/{user}", self._respond)

    async def _args(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            data: dict[str, Any] = await request.json()
            return data
        form = await request.post()
        args: dict[str, Any] = {key: str(value) for key, value in form.items()}
        for key in ("blocks", "metadata", "view"):
            if isinstance(args.get(key), str):
                args[key] = json.loads(args[key])
        return args

    def _new_ts(self) -> str:
        return f"1700000000.{next(self._ts):06d}"

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._args(request)
        handler = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post,
            "chat.update": self._update,
            "conversations.history": self._history,
            "conversations.open": self._open_dm,
            "views.open": self._open_view,
        }.get(method)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        return web.json_response({"ok": True, **handler(args)})

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"user_id": "UCOUNCILBOT", "bot_id": "BCOUNCIL", "team_id": "T0DEMO", "team": "Demo"}

    def _post(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = args["channel"]
        thread = args.get("thread_ts")
        where = f"{channel} thread" if thread else channel
        seen = Seen(
            where=where,
            text=args.get("text", ""),
            blocks=args.get("blocks") or [],
            ts=self._new_ts(),
            metadata=args.get("metadata"),
        )
        self.channels.setdefault(channel, []).append(seen)
        self.feed.append(seen)
        return {"channel": channel, "ts": seen.ts}

    def _update(self, args: dict[str, Any]) -> dict[str, Any]:
        for seen in self.channels.get(args["channel"], []):
            if seen.ts == args["ts"]:
                seen.text, seen.blocks = args.get("text", ""), args.get("blocks") or []
                self.feed.append(
                    Seen(
                        where=f"{args['channel']} (message updated)",
                        text=seen.text,
                        blocks=seen.blocks,
                        ts=seen.ts,
                    )
                )
                return {"channel": args["channel"], "ts": seen.ts}
        return {"channel": args["channel"], "ts": args["ts"]}

    def _history(self, args: dict[str, Any]) -> dict[str, Any]:
        messages = [
            {"ts": s.ts, "text": s.text, "metadata": s.metadata}
            for s in reversed(self.channels.get(args["channel"], []))
        ]
        return {"messages": messages}

    def _open_dm(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"channel": {"id": "D" + str(args["users"])[1:]}}

    def _open_view(self, args: dict[str, Any]) -> dict[str, Any]:
        view = args["view"]
        self.views.append(view)
        self.feed.append(
            Seen(where="modal", text=view.get("title", {}).get("text", ""), blocks=view.get("blocks", []))
        )
        return {"view": {"id": f"V{len(self.views)}", **view}}

    async def _respond(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.feed.append(Seen(where=f"only {request.match_info['user']} sees", text=body.get("text", "")))
        return web.Response(text="ok")


MRKDWN_TOKEN = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")


def _readable(text: str) -> str:
    """Show mrkdwn as a person reads it: mentions as @id, dates and links by their labels."""

    def token(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if target.startswith("@"):
            return target
        return label if label is not None else target

    shown = MRKDWN_TOKEN.sub(token, text).replace("*", "")
    return shown.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def plain(seen: Seen) -> str:
    """Render what a person reads in a message: its blocks as text, else its text."""
    if not seen.blocks:
        return _readable(seen.text)
    lines: list[str] = []
    for block in seen.blocks:
        kind = block.get("type")
        if kind == "header":
            lines.append(block["text"]["text"])
        elif kind == "section":
            if block.get("text"):
                text = block["text"]
                lines.append(text["text"] if text["type"] == "plain_text" else _readable(text["text"]))
            lines.extend(_readable(f["text"].replace("\n", ": ", 1)) for f in block.get("fields", []))
        elif kind == "context":
            lines.append(_readable(" ".join(e.get("text", "") for e in block.get("elements", []))))
        elif kind == "actions":
            lines.append(" ".join(f"[{e['text']['text']}]" for e in block.get("elements", [])))
        elif kind == "input":
            lines.append(f"{block['label']['text']} [text box]")
        elif kind == "divider":
            lines.append("—" * 20)
    return "\n".join(lines)
