"""The fake's file upload: files.getUploadURLExternal, then the upload URL, then files.completeUploadExternal.

Slack's flow (docs.slack.dev, "Working with files"; slack-sdk's `files_upload_v2` follows it):
1. files.getUploadURLExternal(filename, length[, alt_txt, snippet_type]) answers a file id and a
   one-time upload URL on Slack's file host;
2. the client POSTs the bytes there (raw, as slack-sdk does, or multipart) and gets 200 "OK - <size>";
3. files.completeUploadExternal(files=[{"id", "title"}], channel_id | channels, initial_comment,
   thread_ts) finishes the files, once, and shares them; without a channel they stay private.
The errors are those the methods' reference pages list. The server routes step 2 to `read_upload`.
"""

from __future__ import annotations

import mimetypes
import re
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from aiohttp import BodyPartReader, web

from tests.fakeslack.records import Message, SlackError, Upload, UploadTicket
from tests.fakeslack.workspace import Workspace

Args = dict[str, Any]
# Slack's cap on one file (slack-sdk refuses larger ones before asking, as MAX_V2_FILE_SIZE).
MAX_FILE_BYTES = 1024**3
MAX_SNIPPET_BYTES = 1024**2
MAX_ALT_TXT = 1000
MAX_SHARE_CHANNELS = 100
_INTEGER = re.compile(r"-?[0-9]+")


def get_upload_url_external(ws: Workspace, args: Args) -> Args:
    """files.getUploadURLExternal: a file id and the URL to POST the file's bytes to."""
    filename = args.get("filename")
    if not isinstance(filename, str) or not filename:
        raise _invalid("missing required field: filename")
    length = _length(args.get("length"))
    alt_txt = _text(args, "alt_txt")
    snippet_type = _text(args, "snippet_type")
    if alt_txt is not None and len(alt_txt) > MAX_ALT_TXT:
        raise SlackError("alt_txt_too_large")
    if snippet_type is not None and length > MAX_SNIPPET_BYTES:
        raise SlackError("snippet_too_large")
    if length > MAX_FILE_BYTES:
        raise SlackError("file_upload_size_restricted")
    ticket = ws.issue_upload(filename, length, alt_txt=alt_txt, snippet_type=snippet_type)
    return {"upload_url": ws.upload_url(ticket), "file_id": ticket.file_id}


def complete_upload_external(ws: Workspace, args: Args) -> Args:
    """files.completeUploadExternal: finish uploaded files and share them where asked.

    Every check comes first, so a refused call completes and shares nothing. As on Slack, which
    shares in the background, the answer's file objects list no `shares` or `channels` yet; the
    share message is in the channel (`ws.messages`) by the time the answer is sent.
    """
    entries = _file_entries(args.get("files"))
    channels = _share_channels(ws, args)
    tickets = [_uploaded(ws.ticket(entry["id"])) for entry in entries]
    initial_comment = _text(args, "initial_comment")
    thread_ts = _text(args, "thread_ts")
    completed_at = ws.wall_clock()
    files = []
    for entry, ticket in zip(entries, tickets, strict=True):
        title = entry.get("title") if isinstance(entry.get("title"), str) else None
        file = _file_object(ws, ticket, title or ticket.filename, int(completed_at))
        ws.complete_upload(
            Upload(
                file_id=ticket.file_id,
                filename=ticket.filename,
                title=file["title"],
                content=ticket.content or b"",
                alt_txt=ticket.alt_txt,
                snippet_type=ticket.snippet_type,
                channels=list(channels),
                initial_comment=initial_comment,
                thread_ts=thread_ts,
                completed_at=completed_at,
                file=file,
            )
        )
        files.append(file)
    for channel in channels:
        _post_share(ws, channel, files, text=initial_comment or "", thread_ts=thread_ts)
    return {"files": files}


async def read_upload(request: web.Request) -> bytes:
    """Return the bytes POSTed to an upload URL: the raw body, or a multipart body's first file.

    Read from the stream, so the 1 MiB cap aiohttp puts on `request.read()` does not apply.
    """
    if request.content_type != "multipart/form-data":
        return bytes(await request.content.read())
    parts = await request.multipart()
    while (part := await parts.next()) is not None:
        if isinstance(part, BodyPartReader) and part.filename is not None:
            return bytes(await part.read())
    return b""


def _length(value: Any) -> int:
    if value is None or value == "":
        raise _invalid("missing required field: length")
    if isinstance(value, str) and _INTEGER.fullmatch(value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid("length must be an integer")
    if value == 0:
        # Slack's reference: "Typically only occurs when the `length` provided is 0."
        raise SlackError("missing_argument")
    if value < 0:
        raise _invalid("length must be a positive integer")
    return value


def _file_entries(files: Any) -> list[dict[str, Any]]:
    if files is None or files == "":
        raise _invalid("missing required field: files")
    if (
        not isinstance(files, list)
        or not files
        or not all(isinstance(f, dict) and isinstance(f.get("id"), str) and f["id"] for f in files)
    ):
        raise _invalid('files must be a JSON array of objects like {"id": "F…", "title": "…"}')
    ids = [f["id"] for f in files]
    if len(set(ids)) != len(ids):
        raise _invalid("files names the same id twice")
    return files


def _share_channels(ws: Workspace, args: Args) -> list[str]:
    """Resolve channel_id and channels (ids, or user ids for their DMs) to the channels to share in."""
    named: list[str] = []
    channel_id = args.get("channel_id")
    if channel_id:
        named.append(ws.resolve_channel(channel_id))
    listed = args.get("channels") or []
    if isinstance(listed, str):
        listed = [c.strip() for c in listed.split(",") if c.strip()]
    if not isinstance(listed, list):
        raise SlackError("invalid_channel")
    if len(named) + len(listed) > MAX_SHARE_CHANNELS:
        raise SlackError("channels_limit_exceeded")
    for channel in listed:
        try:
            named.append(ws.resolve_channel(channel))
        except SlackError:
            # The reference names channel_not_found for `channel_id`, invalid_channel for the list.
            raise SlackError("invalid_channel") from None
    return list(dict.fromkeys(named))


def _uploaded(ticket: UploadTicket) -> UploadTicket:
    """Return the ticket if its bytes arrived, all of them; a file without bytes was never uploaded."""
    if ticket.content is None:
        raise SlackError("file_not_found")
    if len(ticket.content) != ticket.length:
        raise _invalid(
            f"file {ticket.file_id} received {len(ticket.content)} bytes, "
            f"but files.getUploadURLExternal announced length {ticket.length}"
        )
    return ticket


def _file_object(ws: Workspace, ticket: UploadTicket, title: str, created: int) -> dict[str, Any]:
    """Return a file object shaped like Slack's (the fields a client reads, not all of them)."""
    extension = PurePosixPath(ticket.filename).suffix.lstrip(".").lower()
    filetype = ticket.snippet_type or extension or "binary"
    name = quote(ticket.filename)
    private_url = f"https://files.slack.com/files-pri/{ws.team_id}-{ticket.file_id}/{name}"
    file: dict[str, Any] = {
        "id": ticket.file_id,
        "created": created,
        "timestamp": created,
        "name": ticket.filename,
        "title": title,
        "mimetype": mimetypes.guess_type(ticket.filename)[0] or "application/octet-stream",
        "filetype": filetype,
        "pretty_type": filetype.upper(),
        "user": ws.bot_user_id,
        "user_team": ws.team_id,
        "editable": False,
        "size": ticket.length,
        "mode": "hosted",
        "is_external": False,
        "external_type": "",
        "is_public": False,
        "public_url_shared": False,
        "display_as_bot": False,
        "username": "",
        "url_private": private_url,
        "url_private_download": f"https://files.slack.com/files-pri/{ws.team_id}-{ticket.file_id}/download/{name}",
        "permalink": f"https://council-test.slack.com/files/{ws.bot_user_id}/{ticket.file_id}/{name}",
        "comments_count": 0,
        "channels": [],
        "groups": [],
        "ims": [],
        "shares": {},
        "has_rich_preview": False,
        "file_access": "visible",
    }
    if ticket.alt_txt is not None:
        file["alt_txt"] = ticket.alt_txt
    return file


def _post_share(
    ws: Workspace, channel: str, files: list[dict[str, Any]], *, text: str, thread_ts: str | None
) -> None:
    """Post the bot's message that shares the files, as the channel then shows it."""
    kind = "ims" if channel[:1] == "D" else "groups" if channel[:1] == "G" else "channels"
    shared = [{**file, kind: [channel]} for file in files]
    ws.add_message(
        Message(
            channel=channel,
            ts=ws.next_ts(),
            text=text,
            thread_ts=thread_ts,
            user=ws.bot_user_id,
            bot_id=ws.bot_id,
            files=shared,
        )
    )


def _text(args: Args, key: str) -> str | None:
    value = args.get(key)
    return str(value) if value not in (None, "") else None


def _invalid(problem: str) -> SlackError:
    return SlackError("invalid_arguments", response_metadata={"messages": [f"[ERROR] {problem}"]})
