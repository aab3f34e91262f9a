"""Send an admin the decision log: a CSV file built at delivery, uploaded into their DM with the bot.

The upload is Slack's external flow (files.getUploadURLExternal, the bytes to the upload URL, then
files.completeUploadExternal shared to the DM), through `files_upload_v2` as the digest's chart
goes. The DM comes from conversations.open, so the file can only reach the person who asked, never
the channel the command was typed in. A retry builds and sends the file again: if Slack kept the
first but its answer was lost, the admin has it twice, which beats not at all.
"""

from __future__ import annotations

from bot.outbox.digest_effects import UPLOAD_CALLS
from bot.outbox.events import DecisionLogAsked, Event
from bot.outbox.pacing import Call
from bot.outbox.slack_effects import Moot, Transport, Undeliverable
from bot.services import admin, decision_log
from bot.slack import decision_log_view
from models import OutboxItem

# Excel reads a CSV as UTF-8 only when it starts with a byte order mark; csv readers skip it.
BOM = "\ufeff"
LOOKUP = Call("auth.test")
OPEN_DM = Call("conversations.open")


async def send(ctx: Transport, row: OutboxItem, event: Event) -> None:
    """Build the log as it stands now and upload it, as a CSV file, to the admin's DM."""
    assert isinstance(event, DecisionLogAsked)  # noqa: S101 - the worker dispatches on the event's type
    if not await admin.is_admin(event.user):
        raise Moot(f"{event.user} is no longer an admin")
    # The workspace's address, for each row's link to its message: one call, not one per message.
    identity = await ctx.slack.auth_test()
    entries = await decision_log.log(since=event.since)
    text = decision_log.csv_text(entries, workspace_url=identity.get("url"))
    opened = await ctx.slack.conversations_open(users=event.user)
    dm = str(opened["channel"]["id"])
    if not dm.startswith("D"):
        raise Undeliverable(f"conversations.open answered {dm}, not a direct message")
    await ctx.slack.files_upload_v2(
        channel=dm,
        file=(BOM + text).encode("utf-8"),
        filename=decision_log_view.file_name(event.since, ctx.clock()),
        title=decision_log_view.TITLE,
        initial_comment=decision_log_view.export_comment(len(entries), event.since),
        request_file_info=False,
    )


def planned_calls(deliverer: object, row: OutboxItem, event: Event) -> list[Call]:
    """The Slack calls the export makes, for the pacer: who we are, the DM, the upload."""
    if deliverer is not send or not isinstance(event, DecisionLogAsked):
        return []
    return [LOOKUP, OPEN_DM, *UPLOAD_CALLS]
