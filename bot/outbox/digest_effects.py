"""Say a weekly digest in Slack: post its message once, then upload its chart into the thread.

The message is posted through `post_once` (a retry finds it by its metadata); once posted its ts
is kept on the row, so a retry after a failed upload posts nothing again and only uploads.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bot.outbox.events import DigestReady, Event
from bot.outbox.pacing import Call
from bot.outbox.slack_effects import Transport, post_once, post_once_calls
from bot.services.digest_figures import Digest
from bot.slack import digest_chart, digest_message
from models import OutboxItem

METADATA_EVENT = "council_digest"
UPLOAD_CALLS = [Call("files.getUploadURLExternal"), Call("files.completeUploadExternal")]


async def post(ctx: Transport, row: OutboxItem, event: Event) -> None:
    """Post the digest to its council's channel exactly once, and its chart in the thread."""
    assert isinstance(event, DigestReady)  # noqa: S101 - the worker dispatches on the event's type
    digest = Digest.model_validate(event.digest)
    ts = event.ts
    if ts is None:

        async def message() -> tuple[str, list[dict[str, Any]]]:
            return digest_message.render(digest)

        ts = await post_once(ctx, row, event.channel, (METADATA_EVENT, "digest", row.id), message)
        await OutboxItem.filter(id=row.id).update(payload={**row.payload, "ts": ts})
    # matplotlib takes a moment; the loop keeps serving meanwhile.
    png = await asyncio.to_thread(digest_chart.render, digest_message.chart_data(digest))
    await ctx.slack.files_upload_v2(
        channel=event.channel,
        thread_ts=ts,
        file=png,
        filename=digest_message.chart_name(digest),
        title=f"{digest.council} · week {digest.week.week}",
        initial_comment=digest_message.CHART_COMMENT,
        # No alt_txt: Slack has been seen to accept a file with one and then never share it
        # (python-slack-sdk#1818); the message above says the same figures in words.
        request_file_info=False,
    )


def planned_calls(deliverer: object, row: OutboxItem, event: Event) -> list[Call]:
    """The Slack calls the digest's delivery makes, for the pacer."""
    if deliverer is not post or not isinstance(event, DigestReady):
        return []
    if event.ts is not None:
        return list(UPLOAD_CALLS)
    return [*post_once_calls(row, event.channel), *UPLOAD_CALLS]
