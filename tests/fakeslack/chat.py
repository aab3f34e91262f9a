"""The fake's chat.*, conversations.history/replies and reactions.add methods."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from tests.fakeslack.blockkit import MAX_MESSAGE_TEXT, invalid_blocks, validate_message_blocks
from tests.fakeslack.records import Ephemeral, Message, SlackError
from tests.fakeslack.workspace import Workspace

Args = dict[str, Any]


def flag(args: Args, key: str) -> bool:
    """Read a boolean argument sent as JSON true or as form "true"/"1"."""
    value = args.get(key)
    if isinstance(value, str):
        return value.lower() in ("true", "1")
    return bool(value)


def post_message(ws: Workspace, args: Args) -> Args:
    """chat.postMessage: post to a channel, a thread, or a user's DM."""
    channel = ws.resolve_channel(args.get("channel"))
    text, blocks = _content(args)
    message = Message(
        channel=channel,
        ts=ws.next_ts(),
        text=text,
        blocks=blocks,
        thread_ts=args.get("thread_ts") or None,
        metadata=_metadata(args),
        user=ws.bot_user_id,
        bot_id=ws.bot_id,
    )
    ws.add_message(message)
    return {"channel": channel, "ts": message.ts, "message": message.to_slack()}


def update(ws: Workspace, args: Args) -> Args:
    """chat.update: change the text, blocks or metadata of one of the bot's messages."""
    channel = ws.resolve_channel(args.get("channel"), users_allowed=False)
    message = ws.find_message(channel, args.get("ts"))
    if message.user != ws.bot_user_id:
        raise SlackError("cant_update_message")
    text, blocks = _content(args)
    metadata = _metadata(args)
    if "text" in args:
        message.text = text
    if "blocks" in args:
        message.blocks = blocks
    if metadata is not None:
        message.metadata = metadata
    message.edited_ts = ws.next_ts()
    return {
        "channel": channel,
        "ts": message.ts,
        "text": message.text,
        "message": message.to_slack(),
    }


def post_ephemeral(ws: Workspace, args: Args) -> Args:
    """chat.postEphemeral: show a message to one user in a channel."""
    channel = ws.resolve_channel(args.get("channel"))
    user = args.get("user")
    if not isinstance(user, str) or not user:
        raise SlackError("user_not_in_channel")
    text, blocks = _content(args)
    ts = ws.next_ts()
    thread_ts = args.get("thread_ts") or None
    ws.add_ephemeral(Ephemeral(channel, user, ts, text, blocks, thread_ts))
    return {"message_ts": ts}


def get_permalink(ws: Workspace, args: Args) -> Args:
    """chat.getPermalink: a link to a message that exists."""
    channel = ws.resolve_channel(args.get("channel"), users_allowed=False)
    message = ws.find_message(channel, args.get("message_ts"))
    link = f"https://council-test.slack.com/archives/{channel}/p{message.ts.replace('.', '')}"
    if message.thread_ts and message.thread_ts != message.ts:
        link += f"?thread_ts={message.thread_ts}&cid={channel}"
    return {"channel": channel, "permalink": link}


def history(ws: Workspace, args: Args) -> Args:
    """conversations.history: top-level messages, newest first, metadata only when asked."""
    channel = ws.resolve_channel(args.get("channel"), users_allowed=False)
    messages = _between(ws.messages(channel), args)[::-1]
    page, more, cursor = _page(messages, args)
    with_metadata = flag(args, "include_all_metadata")
    out = []
    for message in page:
        entry = message.to_slack(include_metadata=with_metadata)
        replies = ws.replies_of(channel, message.ts)
        if replies:
            entry["thread_ts"] = message.ts
            entry["reply_count"] = len(replies)
            entry["reply_users"] = sorted({r.user for r in replies if r.user})
            entry["latest_reply"] = replies[-1].ts
        out.append(entry)
    return _paged({"messages": out, "has_more": more, "pin_count": 0}, cursor)


def replies(ws: Workspace, args: Args) -> Args:
    """conversations.replies: a thread's parent then its replies, oldest first."""
    channel = ws.resolve_channel(args.get("channel"), users_allowed=False)
    try:
        message = ws.find_message(channel, args.get("ts"))
    except SlackError:
        raise SlackError("thread_not_found") from None
    root = message.thread_ts or message.ts
    with_metadata = flag(args, "include_all_metadata")
    page, more, cursor = _page(_between(ws.thread(channel, root), args), args)
    out = [m.to_slack(include_metadata=with_metadata) for m in page]
    if out and out[0]["ts"] == root:
        out[0]["thread_ts"] = root
        out[0]["reply_count"] = len(ws.replies_of(channel, root))
    return _paged({"messages": out, "has_more": more}, cursor)


def add_reaction(ws: Workspace, args: Args) -> Args:
    """reactions.add: the bot reacts to a message with an emoji name."""
    channel = ws.resolve_channel(args.get("channel"), users_allowed=False)
    message = ws.find_message(channel, args.get("timestamp"))
    name = args.get("name")
    if not isinstance(name, str) or not name:
        raise SlackError("invalid_name")
    users = message.reactions.setdefault(name.strip(":"), [])
    if ws.bot_user_id in users:
        raise SlackError("already_reacted")
    users.append(ws.bot_user_id)
    return {}


def _content(args: Args) -> tuple[str, list[dict[str, Any]]]:
    text = args.get("text")
    blocks = args.get("blocks")
    if blocks is not None and not isinstance(blocks, list):
        raise SlackError("invalid_blocks_format")
    if not text and not blocks and not args.get("attachments"):
        raise SlackError("no_text")
    text = "" if text is None else str(text)
    if len(text) > MAX_MESSAGE_TEXT:
        raise SlackError("msg_too_long")
    errors = validate_message_blocks(blocks)
    if errors:
        raise invalid_blocks(errors)
    return text, list(blocks or [])


def _metadata(args: Args) -> dict[str, Any] | None:
    metadata = args.get("metadata")
    if metadata is None:
        return None
    if not (
        isinstance(metadata, Mapping)
        and isinstance(metadata.get("event_type"), str)
        and metadata["event_type"]
        and isinstance(metadata.get("event_payload"), Mapping)
    ):
        raise SlackError("invalid_metadata_format")
    return {"event_type": metadata["event_type"], "event_payload": dict(metadata["event_payload"])}


def _between(messages: list[Message], args: Args) -> list[Message]:
    inclusive = flag(args, "inclusive")
    oldest = float(args.get("oldest") or 0)
    latest = float(args["latest"]) if args.get("latest") else float("inf")
    kept = []
    for message in messages:
        ts = float(message.ts)
        after = ts >= oldest if inclusive else ts > oldest
        before = ts <= latest if inclusive else ts < latest
        if after and before:
            kept.append(message)
    return kept


def _page(messages: list[Message], args: Args) -> tuple[list[Message], bool, str | None]:
    try:
        limit = max(1, min(int(args.get("limit") or 100), 999))
        cursor = args.get("cursor")
        start = int(base64.b64decode(cursor).decode().split(":")[1]) if cursor else 0
    except (ValueError, IndexError):
        raise SlackError("invalid_cursor") from None
    end = start + limit
    more = end < len(messages)
    next_cursor = base64.b64encode(f"offset:{end}".encode()).decode() if more else None
    return messages[start:end], more, next_cursor


def _paged(body: Args, cursor: str | None) -> Args:
    if cursor:
        body["response_metadata"] = {"next_cursor": cursor}
    return body
