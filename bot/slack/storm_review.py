"""A storm's review page: a modal with ten pending escalations at a time, each with its vote buttons."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.governance import Choice
from bot.services.storm_actions import ReviewItem, ReviewPage
from bot.slack import ids
from bot.slack.escalation_view import CHOICE_LABEL
from bot.slack.text import clip, escape, money, safe, slack_date


def _item(item: ReviewItem) -> list[Block]:
    text = f"*{safe(item.title, 200)}*"
    if item.amount is not None:
        text += f" · {money(item.amount, item.currency)}"
    text += f"\n`{item.public_id}`"
    if item.deadline is not None:
        text += f" · deadline {slack_date(item.deadline)}"
    if item.your_vote:
        text += f" · your vote: *{CHOICE_LABEL.get(item.your_vote, escape(item.your_vote))}*"
    value = ids.vote_value(item.public_id, item.version)
    buttons = ActionsBlock(
        block_id=ids.review_block(item.public_id),
        elements=[
            ButtonElement(
                text=CHOICE_LABEL[Choice.APPROVE], action_id=ids.REVIEW_APPROVE, value=value, style="primary"
            ),
            ButtonElement(
                text=CHOICE_LABEL[Choice.REJECT], action_id=ids.REVIEW_REJECT, value=value, style="danger"
            ),
            ButtonElement(text=CHOICE_LABEL[Choice.ABSTAIN], action_id=ids.REVIEW_ABSTAIN, value=value),
        ],
    )
    return [SectionBlock(text=MarkdownTextObject(text=clip(text, 3000))), buttons, DividerBlock()]


def _pager(page: ReviewPage) -> ActionsBlock | None:
    buttons = []
    if page.page > 0:
        buttons.append(
            ButtonElement(text="Previous", action_id=ids.REVIEW_PREVIOUS, value=str(page.page - 1))
        )
    if page.page + 1 < page.pages:
        buttons.append(ButtonElement(text="Next", action_id=ids.REVIEW_NEXT, value=str(page.page + 1)))
    return ActionsBlock(block_id=ids.REVIEW_PAGER_BLOCK, elements=buttons) if buttons else None


def build(page: ReviewPage, *, note: str | None = None) -> dict[str, Any]:
    """Return the review modal for views.open / views.update; `note` says why a vote was refused."""
    where = f"page {page.page + 1} of {page.pages}"
    head = f"*{escape(page.agent)}*: {page.pending} pending in this storm · {where}"
    if not page.items:
        head = f"*{escape(page.agent)}*: nothing is pending in this storm any more."
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=clip(head, 3000)))]
    if note:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=clip(f":warning: {escape(note)}", 3000))))
    blocks += [
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="Reject asks for a reason; each vote counts under its escalation's own rule."
                )
            ]
        ),
        DividerBlock(),
    ]
    for item in page.items:
        blocks.extend(_item(item))
    pager = _pager(page)
    if pager is not None:
        blocks.append(pager)
    view = View(
        type="modal",
        callback_id=ids.STORM_REVIEW_MODAL,
        private_metadata=ids.review_ref(page.storm_id, page.page),
        title="Review the storm",
        close="Done",
        blocks=blocks,
    )
    return view.to_dict()
