"""What the fake Slack remembers: calls, messages, views, response_url posts and uploaded files."""

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
    # Slack's file objects, when the message shares files (files.completeUploadExternal).
    files: list[dict[str, Any]] = field(default_factory=list)

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
        if self.files:
            out["files"] = self.files
            out["upload"] = True
            out["display_as_bot"] = False
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


@dataclass
class UploadTicket:
    """A file files.getUploadURLExternal announced, waiting for its bytes and its completion."""

    file_id: str
    upload_id: str
    filename: str
    length: int
    alt_txt: str | None = None
    snippet_type: str | None = None
    # What was POSTed to the upload URL; None until then.
    content: bytes | None = None


@dataclass
class Upload:
    """A file files.completeUploadExternal finished: its exact bytes and where it was shared."""

    file_id: str
    filename: str
    title: str
    content: bytes
    alt_txt: str | None
    snippet_type: str | None
    # Where the file was shared, in order (a user id given is its DM channel); empty: kept private.
    channels: list[str]
    initial_comment: str | None
    thread_ts: str | None
    # The fake's wall clock when the upload was completed.
    completed_at: float
    # The file object Slack answered with.
    file: dict[str, Any]

    @property
    def channel(self) -> str | None:
        """The channel the file was shared in (the first, if several); None if private."""
        return self.channels[0] if self.channels else None

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)
