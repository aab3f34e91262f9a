"""/council digest now end to end: the message in the channel, its chart uploaded into the thread."""

from __future__ import annotations

import asyncio
import struct
from datetime import UTC, datetime, timedelta

from bot.outbox.digest_effects import METADATA_EVENT
from models import Escalation, OutboxItem
from models.enums import Delivery
from tests.fakeslack import Upload
from tests.fakeslack.records import Message
from tests.handlers.slack.test_home_and_commands import command
from tests.harness import Harness

ADMIN, MEMBER = "U0ADMIN01", "U0TECH001"
PNG = b"\x89PNG\r\n\x1a\n"


async def _last_week(council: Harness, count: int) -> None:
    """`count` escalations opened a week ago (moved there: the digest reports the last whole week)."""
    for n in range(count):
        status, _ = await council.escalate(
            {"kind": "approval", "title": f"Refund {n}", "action": {"amount": 10}}
        )
        assert status == 201
    await Escalation.all().update(created_at=datetime.now(UTC) - timedelta(days=7))


def _digests(council: Harness) -> list[Message]:
    return [
        m
        for m in council.fake.messages("C0COUNCIL")
        if (m.metadata or {}).get("event_type") == METADATA_EVENT
    ]


async def _posted(council: Harness) -> tuple[Message, Upload]:
    await council.fake.wait_for(
        lambda: _digests(council) and council.fake.uploads_in("C0COUNCIL"), timeout=20
    )
    [message] = _digests(council)
    [upload] = council.fake.uploads_in("C0COUNCIL")
    return message, upload


async def _settled() -> None:
    """Wait until the worker has recorded how each delivery went."""
    for _ in range(400):
        if not await OutboxItem.filter(status=Delivery.PENDING).exists():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the outbox never emptied")


def _png_size(content: bytes) -> tuple[int, int]:
    assert content[:8] == PNG
    length, kind = struct.unpack(">I4s", content[8:16])
    assert (length, kind) == (13, b"IHDR")
    width, height = struct.unpack(">II", content[16:24])
    return width, height


async def test_an_admin_posts_the_digest_and_its_chart_arrives_in_the_thread(council: Harness) -> None:
    await _last_week(council, 2)
    answer = await command(council, "digest now", user=ADMIN)
    assert answer.startswith("Posting the digest for week ")
    assert "of *ai-council* to <#C0COUNCIL>" in answer
    message, upload = await _posted(council)
    shown = council.fake.rendered_text(message)
    assert "Weekly digest · ai-council" in shown
    assert "Escalations opened: *2* (↑ from 0): 2 approvals" in shown
    assert "System flow" in shown and "Human flourishing" in shown and "What to look at" in shown
    # The chart: a real PNG, uploaded through getUploadURLExternal → upload → completeUploadExternal.
    assert upload.thread_ts == message.ts
    assert upload.filename.startswith("council-digest-ai-council-") and upload.filename.endswith(".png")
    assert _png_size(upload.content) == (1200, 500)
    assert upload.alt_txt is None
    await _settled()
    row = await OutboxItem.get(kind="digest.ready")
    assert row.status == Delivery.DONE and row.payload["ts"] == message.ts


async def test_others_are_told_who_can_and_nothing_is_posted(council: Harness) -> None:
    answer = await command(council, "digest now", user=MEMBER)
    assert (
        answer == "Only Council admins can post the digest now: <@U0ADMIN01>. It is posted weekly on its own."
    )
    assert await command(council, "digest", user=ADMIN) == (
        "Use `/council digest now` (every council) or `/council digest now COUNCIL`."
    )
    assert await command(council, "digest now <!channel>", user=ADMIN) == (
        "There is no council named '&lt;!channel&gt;' (councils: ai-council)."
    )
    assert not await OutboxItem.filter(kind="digest.ready").exists()
    assert _digests(council) == []


async def test_a_failed_upload_is_retried_without_posting_the_message_twice(council: Harness) -> None:
    # Answered, not an outage: slack-sdk does not retry it, the outbox does.
    council.fake.fail_next("files.completeUploadExternal", error="internal_error", status=200)
    council.fake.fail_next("chat.postMessage", error="ratelimited", status=429, retry_after=1)
    await command(council, "digest now ai-council", user=ADMIN)
    message, upload = await _posted(council)
    await _settled()
    assert len(_digests(council)) == 1 and len(council.fake.uploads_in("C0COUNCIL")) == 1
    assert upload.thread_ts == message.ts
    row = await OutboxItem.get(kind="digest.ready")
    assert row.status == Delivery.DONE
    calls = [(c.method, c.ok) for c in council.fake.calls if c.method.startswith(("chat.", "files."))]
    assert calls == [
        ("chat.postMessage", False),
        ("chat.postMessage", True),
        ("files.getUploadURLExternal", True),
        ("files.completeUploadExternal", False),
        ("files.getUploadURLExternal", True),
        ("files.completeUploadExternal", True),
    ]
