"""What the fake Slack remembers: calls, messages, views and response_url posts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class SlackError(Exception):
    """A Slack Web API error answered as `{"ok": false, "error": ...}` with HTTP 200."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra

    def body(self) -> dict[str, Any]:
        """Return the JSON body Slack sends for this error."""
        return {"ok": False, "error": self.error, **self.extra}


@dataclass
class Call:
    """One Web API call as the fake received it (token removed, JSON strings decoded)."""

    method: str
    args: dict[str, Any]
    ok: bool
    error: str | None = None


@dataclass
class Message:
    """A message in a channel, as it currently reads (after any chat.update)."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    thread_ts: str | None = None
    metadata: dict[str, Any] | None = None
    user: str | None = None
    bot_id: str | None = None
    edited_ts: str | None = None
    reactions: dict[str, list[str]] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        # Lets tests read a message like the dict Slack returns: message["text"].
        return getattr(self, key)

    def to_slack(self, *, include_metadata: bool = True) -> dict[str, Any]:
        """Return the message shaped like Slack's history/replies entries."""
        out: dict[str, Any] = {"type": "message", "ts": self.ts, "text": self.text}
        if self.user:
            out["user"] = self.user
        if self.bot_id:
            out["bot_id"] = self.bot_id
        if self.blocks:
            out["blocks"] = self.blocks
        if self.thread_ts:
            out["thread_ts"] = self.thread_ts
        if self.metadata and include_metadata:
            out["metadata"] = self.metadata
        if self.edited_ts:
            out["edited"] = {"user": self.user, "ts": self.edited_ts}
        if self.reactions:
            out["reactions"] = [
                {"name": name, "users": users, "count": len(users)} for name, users in self.reactions.items()
            ]
        return out


@dataclass
class Ephemeral:
    """A message only `user` saw (chat.postEphemeral); Slack keeps no history of these."""

    channel: str
    user: str
    ts: str
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    thread_ts: str | None = None

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)


@dataclass
class ViewRecord:
    """One views.open / views.push / views.update / views.publish that succeeded."""

    action: str  # "open" | "push" | "update" | "publish"
    view_id: str
    user: str
    view: dict[str, Any]

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)


@dataclass
class PostedResponse:
    """A body the app POSTed to a response_url (Bolt's respond())."""

    response_id: str
    body: dict[str, Any]

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)
