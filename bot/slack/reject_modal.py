"""The modal that asks for a reason before a Reject counts."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import InputBlock, PlainTextInputElement, PlainTextObject, SectionBlock
from slack_sdk.models.views import View

from bot.slack import ids
from bot.slack.text import clip

REASON_MAX = 2000


def reject_modal(*, public_id: str, title: str) -> dict[str, Any]:
    """Build the reject modal; private_metadata carries the escalation id."""
    view = View(
        type="modal",
        callback_id=ids.REJECT_MODAL,
        private_metadata=public_id,
        title="Reject escalation",
        submit="Reject",
        close="Cancel",
        blocks=[
            SectionBlock(text=PlainTextObject(text=clip(f"Rejecting: {title}", 3000))),
            InputBlock(
                block_id=ids.REASON_BLOCK,
                label="Why reject? The agent and the council will see this.",
                element=PlainTextInputElement(
                    action_id=ids.REASON_INPUT, multiline=True, max_length=REASON_MAX
                ),
            ),
        ],
    )
    return view.to_dict()
