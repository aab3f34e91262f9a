"""The state of the fake workspace: channels, users, messages, views, trigger ids and files."""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Callable
from typing import Any

from tests.fakeslack.records import (
    Call,
    Ephemeral,
    Message,
    PostedResponse,
    SlackError,
    Upload,
    UploadTicket,
    ViewRecord,
)
from tests.fakeslack.render import rendered_text

TRIGGER_LIFETIME_SECONDS = 3.0
DEFAULT_TOKEN = "xoxb-test-token"


class Workspace:
    """One Slack workspace with one bot user, held in memory."""

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        team_id: str = "T0COUNCIL",
        bot_user_id: str = "U0COUNCILBOT",
        bot_id: str = "B0COUNCILBOT",
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.token = token
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.clock = clock
        self.wall_clock = wall_clock
        # Where this workspace is served ("http://127.0.0.1:PORT"); upload URLs point there.
        self.url = ""
        # None: every channel exists. A set: only these (and DMs) exist.
        self.channels: set[str] | None = None
        # Overrides merged over a generated user for users.info.
        self.users: dict[str, dict[str, Any]] = {}
        self.calls: list[Call] = []
        self.views: list[ViewRecord] = []
        self.responses: list[PostedResponse] = []
        self.uploads: list[Upload] = []
        self._messages: list[Message] = []
        self._ephemerals: list[Ephemeral] = []
        self._dm_channels: dict[str, str] = {}
        self._triggers: dict[str, tuple[float, str | None]] = {}
        self._used_triggers: set[str] = set()
        self._open_views: dict[str, dict[str, Any]] = {}
        self._view_users: dict[str, str] = {}
        self._tickets: dict[str, UploadTicket] = {}
        self._open_upload_ids: dict[str, str] = {}
        self._last_ts_micros = 0
        self._ids = itertools.count(1)

    # -- identifiers -------------------------------------------------------------------------

    def next_ts(self) -> str:
        """Return a message ts that is unique and increasing, near the wall clock."""
        micros = max(int(self.wall_clock() * 1_000_000), self._last_ts_micros + 100)
        self._last_ts_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def next_id(self, prefix: str) -> str:
        """Return a fresh Slack-looking id such as V0000000007."""
        return f"{prefix}{next(self._ids):010d}"

    def new_trigger_id(self, user: str | None = None) -> str:
        """Issue a trigger id for `user`, good for one views.open within 3 s of `clock`."""
        trigger_id = f"{next(self._ids)}.{secrets.randbelow(10**10)}.{secrets.token_hex(16)}"
        self._triggers[trigger_id] = (self.clock(), user)
        return trigger_id

    def exchange_trigger(self, trigger_id: Any) -> str | None:
        """Use up a trigger id and return its user, or raise the error Slack gives for it."""
        if trigger_id not in self._triggers:
            raise SlackError("invalid_trigger_id")
        issued, user = self._triggers[trigger_id]
        if trigger_id in self._used_triggers:
            raise SlackError("exchanged_trigger_id")
        if self.clock() - issued > TRIGGER_LIFETIME_SECONDS:
            raise SlackError("expired_trigger_id")
        self._used_triggers.add(trigger_id)
        return user

    def dm_channel(self, user: str) -> str:
        """Return the DM channel id between the bot and `user`, the same on every call."""
        if user not in self._dm_channels:
            self._dm_channels[user] = "D" + user[1:] if user[:1] in "UW" else f"D{user}"
        return self._dm_channels[user]

    def resolve_channel(self, channel: Any, *, users_allowed: bool = True) -> str:
        """Return the channel a call acts on (a user id means the DM when posting), or raise."""
        if not isinstance(channel, str) or not channel:
            raise SlackError("channel_not_found")
        if channel[0] in "UW":
            if not users_allowed:
                raise SlackError("channel_not_found")
            return self.dm_channel(channel)
        if channel in self._dm_channels.values():
            return channel
        if self.channels is not None and channel not in self.channels:
            raise SlackError("channel_not_found")
        return channel

    def user(self, user_id: str) -> dict[str, Any]:
        """Return users.info's `user`: a generated person, overridden by `users[user_id]`."""
        override = self.users.get(user_id, {})
        name = override.get("name", user_id.lower())
        real_name = override.get("real_name", f"User {user_id}")
        user: dict[str, Any] = {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "real_name": real_name,
            "deleted": False,
            "tz": "UTC",
            "tz_label": "Coordinated Universal Time",
            "tz_offset": 0,
            "is_bot": user_id == self.bot_user_id,
            "is_admin": False,
            "profile": {"real_name": real_name, "display_name": name},
        }
        user.update(override)
        return user

    # -- messages ----------------------------------------------------------------------------

    def add_message(self, message: Message) -> Message:
        """Store a message in its channel."""
        self._messages.append(message)
        return message

    def post_as_user(self, channel: str, user: str, text: str, *, thread_ts: str | None = None) -> Message:
        """Seed a message written by a person (the bot cannot update it)."""
        message = Message(channel, self.next_ts(), text, thread_ts=thread_ts, user=user)
        return self.add_message(message)

    def find_message(self, channel: str, ts: Any) -> Message:
        """Return the message at (channel, ts), or raise message_not_found."""
        for message in self._messages:
            if message.channel == channel and message.ts == ts:
                return message
        raise SlackError("message_not_found")

    def add_ephemeral(self, ephemeral: Ephemeral) -> None:
        """Record an ephemeral message."""
        self._ephemerals.append(ephemeral)

    def messages(self, channel: str) -> list[Message]:
        """Return the channel's top-level messages, oldest first, as they read now."""
        return [m for m in self._messages if m.channel == channel and _is_top_level(m)]

    def thread(self, channel: str, ts: str) -> list[Message]:
        """Return a thread's parent and its replies, oldest first."""
        return [m for m in self._messages if m.channel == channel and (m.ts == ts or m.thread_ts == ts)]

    def replies_of(self, channel: str, ts: str) -> list[Message]:
        """Return the replies in a thread, without the parent."""
        return [m for m in self.thread(channel, ts) if m.ts != ts]

    def dms(self, user: str) -> list[Message]:
        """Return every message the bot sent to `user` directly, thread replies included."""
        channel = self.dm_channel(user)
        return [m for m in self._messages if m.channel == channel]

    def ephemerals(self, user: str | None = None) -> list[Ephemeral]:
        """Return the ephemeral messages shown (to `user`, when given)."""
        return [e for e in self._ephemerals if user is None or e.user == user]

    # -- views -------------------------------------------------------------------------------

    def store_view(self, view: dict[str, Any], user: str) -> None:
        """Remember a view's current state by id, and whose screen it is on."""
        self._open_views[view["id"]] = view
        self._view_users[view["id"]] = user

    def view_user(self, view_id: str) -> str:
        """Return the user a stored view belongs to."""
        return self._view_users[view_id]

    def find_view(self, *, view_id: Any = None, external_id: Any = None) -> dict[str, Any]:
        """Return the stored view by id or external id, or raise not_found."""
        for view in self._open_views.values():
            if (view_id and view["id"] == view_id) or (
                external_id and view.get("external_id") == external_id
            ):
                return view
        raise SlackError("not_found")

    def home(self, user: str) -> dict[str, Any] | None:
        """Return the App Home view last published for `user`."""
        published = [r.view for r in self.views if r.action == "publish" and r.user == user]
        return published[-1] if published else None

    # -- files -------------------------------------------------------------------------------

    def issue_upload(
        self, filename: str, length: int, *, alt_txt: str | None, snippet_type: str | None
    ) -> UploadTicket:
        """Announce a file: a new file id, and an upload URL good for one POST of its bytes."""
        ticket = UploadTicket(
            self.next_id("F"), secrets.token_urlsafe(24), filename, length, alt_txt, snippet_type
        )
        self._tickets[ticket.file_id] = ticket
        self._open_upload_ids[ticket.upload_id] = ticket.file_id
        return ticket

    def upload_url(self, ticket: UploadTicket) -> str:
        """Return where the ticket's bytes go, on this fake (Slack's is files.slack.com/upload/v1/...)."""
        return f"{self.url}/upload/v1/{ticket.upload_id}"

    def receive_upload(self, upload_id: str, content: bytes) -> bool:
        """Keep the bytes POSTed to an upload URL; False if the URL is unknown or already used."""
        file_id = self._open_upload_ids.pop(upload_id, None)
        if file_id is None:
            return False
        self._tickets[file_id].content = content
        return True

    def ticket(self, file_id: Any) -> UploadTicket:
        """Return the announced, not yet completed file, or raise file_not_found."""
        if not isinstance(file_id, str) or file_id not in self._tickets:
            raise SlackError("file_not_found")
        return self._tickets[file_id]

    def complete_upload(self, upload: Upload) -> None:
        """Record a completed upload; its ticket is used up (Slack completes a file once)."""
        del self._tickets[upload.file_id]
        self.uploads.append(upload)

    def uploads_in(self, channel: str) -> list[Upload]:
        """Return the files shared in `channel` (a user id means the DM), oldest first."""
        if channel[:1] in "UW":
            channel = self.dm_channel(channel)
        return [u for u in self.uploads if channel in u.channels]

    # -- reading -----------------------------------------------------------------------------

    def rendered_text(self, message: Message | Ephemeral | dict[str, Any]) -> str:
        """Return what a person reads in `message`: its blocks as plain text, else its text."""
        return rendered_text(message, users=self.users)

    def dump(self, *, last_calls: int = 20) -> str:
        """Describe the recorded state, for assertion messages."""
        lines = [f"last {last_calls} calls:"]
        lines += [
            f"  {c.method} ok={c.ok} error={c.error} args={_short(c.args)}" for c in self.calls[-last_calls:]
        ]
        lines.append("messages:")
        lines += [
            f"  {m.channel} {m.ts} thread={m.thread_ts} {_short(self.rendered_text(m))}"
            for m in self._messages
        ]
        lines.append("ephemerals:")
        lines += [f"  {e.channel}/{e.user} {_short(self.rendered_text(e))}" for e in self._ephemerals]
        lines.append("views:")
        lines += [f"  {v.action} {v.view_id} user={v.user}" for v in self.views]
        lines.append(f"responses: {[_short(r.body) for r in self.responses]}")
        lines.append("uploads:")
        lines += [
            f"  {u.file_id} {u.filename!r} title={u.title!r} {len(u.content)} bytes channels={u.channels}"
            for u in self.uploads
        ]
        return "\n".join(lines)


def _is_top_level(message: Message) -> bool:
    return message.thread_ts is None or message.thread_ts == message.ts


def _short(value: Any, limit: int = 160) -> str:
    text = str(value).replace("\n", " | ")
    return text if len(text) <= limit else text[: limit - 1] + "…"
