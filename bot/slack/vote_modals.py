"""Modals that ask for more than a click: a reason to reject, conditions to approve, notes to resolve."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from slack_sdk.models.blocks import InputBlock, PlainTextInputElement, PlainTextObject, SectionBlock
from slack_sdk.models.views import View

from bot.slack import ids
from bot.slack.text import clip, money

TEXT_MAX = 2000


def _modal(
    *, callback_id: str, ref: str, title: str, submit: str, intro: str, inputs: list[InputBlock]
) -> dict[str, Any]:
    view = View(
        type="modal",
        callback_id=callback_id,
        private_metadata=ref,
        title=title,
        submit=submit,
        close="Cancel",
        # plain_text: the escalation's title comes from an agent and must not be parsed as mrkdwn.
        blocks=[SectionBlock(text=PlainTextObject(text=clip(intro, 3000))), *inputs],
    )
    return view.to_dict()


def _reason(label: str) -> InputBlock:
    return InputBlock(
        block_id=ids.REASON_BLOCK,
        label=label,
        element=PlainTextInputElement(action_id=ids.REASON_INPUT, multiline=True, max_length=TEXT_MAX),
    )


def reject_modal(*, ref: str, title: str) -> dict[str, Any]:
    """Ask why; a Reject counts only with a reason."""
    reason = _reason("Why reject? The agent and the council will see this.")
    return _modal(
        callback_id=ids.REJECT_MODAL,
        ref=ref,
        title="Reject escalation",
        submit="Reject",
        intro=f"Rejecting: {title}",
        inputs=[reason],
    )


def conditions_modal(*, ref: str, title: str, amount: Decimal | None, currency: str | None) -> dict[str, Any]:
    """Ask for the conditions, and optionally a lower amount than requested."""
    inputs = [
        InputBlock(
            block_id=ids.CONDITIONS_BLOCK,
            label="Conditions the agent must meet",
            element=PlainTextInputElement(
                action_id=ids.CONDITIONS_INPUT, multiline=True, max_length=TEXT_MAX
            ),
        )
    ]
    if amount is not None:
        inputs.append(
            InputBlock(
                block_id=ids.AMOUNT_BLOCK,
                label="Approved amount (leave empty for the full amount)",
                hint=f"At most {money(amount, currency)}.",
                optional=True,
                element=PlainTextInputElement(action_id=ids.AMOUNT_INPUT, max_length=30),
            )
        )
    return _modal(
        callback_id=ids.CONDITIONS_MODAL,
        ref=ref,
        title="Approve with conditions",
        submit="Approve",
        intro=f"Approving with conditions: {title}",
        inputs=inputs,
    )


def resolve_modal(*, ref: str, title: str) -> dict[str, Any]:
    """Ask how the incident was resolved."""
    notes = InputBlock(
        block_id=ids.NOTES_BLOCK,
        label="How was it resolved?",
        element=PlainTextInputElement(action_id=ids.NOTES_INPUT, multiline=True, max_length=TEXT_MAX),
    )
    return _modal(
        callback_id=ids.RESOLVE_MODAL,
        ref=ref,
        title="Resolve incident",
        submit="Resolve",
        intro=f"Resolving: {title}",
        inputs=[notes],
    )


def storm_reject_modal(*, ref: str, agent: str, seated: int, alone: int) -> dict[str, Any]:
    """Ask why, before a member's Reject is cast on every pending escalation of a storm."""
    reason = _reason("Why reject them all? The agent and the council will see this.")
    if alone == seated:
        effect = f"Your reject decides all {seated} by itself: each is rejected with your reason."
    elif alone == 0:
        effect = f"Your Reject is cast on each of the {seated}; their voting rules decide each one."
    else:
        effect = (
            f"Your reject decides {alone} of them by itself; on the other {seated - alone} it counts "
            "as your vote and their voting rules decide."
        )
    return _modal(
        callback_id=ids.STORM_REJECT_MODAL,
        ref=ref,
        title="Reject all pending",
        submit="Reject all",
        intro=f"Rejecting the {seated} pending escalations of {agent}'s storm that you vote on. {effect}",
        inputs=[reason],
    )
