"""A storm's grouped message: one per agent and storm, updated as it grows, then a final summary."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.services.storm_view import StormView
from bot.slack import ids
from bot.slack.text import channel, clip, escape, mention, money, slack_date


def _minutes(view: StormView) -> int:
    return max(1, math.ceil((view.last_at - view.started_at).total_seconds() / 60))


def _amount(view: StormView, amount: Any) -> str:
    # Several currencies cannot be summed into one figure honestly: say so instead of a symbol.
    return (
        money(amount, None) + " (several currencies)"
        if view.mixed_currencies
        else money(amount, view.currency)
    )


def summary_line(view: StormView) -> str:
    """The storm in one line: "refund-bot: 340 escalations in 5 min, $68,000 requested, …"."""
    auto = f"{view.auto_approved} auto-approved ({_amount(view, view.auto_approved_amount)})"
    return (
        f"{escape(view.agent)}: {view.escalations} escalations in {_minutes(view)} min, "
        f"{_amount(view, view.requested)} requested, {auto}, {view.waiting} waiting"
    )


def fallback_text(view: StormView) -> str:
    """The notification text, also what screen readers and old clients show."""
    head = "Storm over" if view.ended_at else "Storm"
    return f"{head}: {summary_line(view)}"


def _decided(view: StormView) -> str:
    parts = [
        f"approved by the council {view.approved}",
        f"rejected {view.rejected}",
        f"expired {view.expired}",
        f"withdrawn {view.withdrawn}",
    ]
    return "Decided so far: " + " · ".join(parts)


def _status(view: StormView) -> list[str]:
    lines = [f"Accountable owner: {mention(view.owner)}"]
    if view.auto_paused_at is not None:
        when = slack_date(view.auto_paused_at)
        lines.append(
            f":octagonal_sign: *Council paused {escape(view.agent)} itself* at {when}: the storm passed "
            "its `auto_pause_after`. Its new requests are refused until it is resumed "
            f"(`/council agent resume {escape(view.agent)}`)."
        )
    elif view.agent_paused:
        lines.append(f":octagonal_sign: *{escape(view.agent)} is paused*: its new requests are refused.")
    return lines


def _buttons(view: StormView) -> ActionsBlock | None:
    value = str(view.storm_id)
    buttons: list[ButtonElement] = []
    if view.waiting:
        buttons.append(
            ButtonElement(
                text="Reject all pending", action_id=ids.STORM_REJECT_ALL, value=value, style="danger"
            )
        )
    if not view.agent_paused:
        buttons.append(
            ButtonElement(
                text="Pause agent",
                action_id=ids.STORM_PAUSE,
                value=value,
                confirm=ConfirmObject(
                    title="Pause the agent?",
                    text=clip(f"{view.agent} will be refused until someone resumes it.", 300),
                    confirm="Pause",
                    deny="Cancel",
                ),
            )
        )
    if view.waiting:
        buttons.append(ButtonElement(text="Review individually", action_id=ids.STORM_REVIEW, value=value))
    return ActionsBlock(block_id=ids.STORM_ACTIONS_BLOCK, elements=buttons) if buttons else None


def render(view: StormView) -> tuple[str, list[dict[str, Any]]]:
    """Return the grouped message's fallback text and blocks."""
    # Header text is plain_text: Slack shows it literally, so it needs no escaping.
    title = f"Storm over: {view.agent}" if view.ended_at else f"Storm: {view.agent} is flooding the council"
    blocks: list[Block] = [
        HeaderBlock(text=clip(f"🌩️ {title}", 150)),
        SectionBlock(text=MarkdownTextObject(text=clip(f"*{summary_line(view)}*", 3000))),
        SectionBlock(text=MarkdownTextObject(text=clip("\n".join(_status(view)), 3000))),
        ContextBlock(elements=[MarkdownTextObject(text=clip(_decided(view), 3000))]),
    ]
    when = f"Started {slack_date(view.started_at)}"
    if view.ended_at:
        when += f" · ended {slack_date(view.ended_at)} after a quiet spell; this is the final summary"
        if view.waiting:
            when += f" ({view.waiting} still wait for a vote or their deadline)"
    else:
        when += f" · latest {slack_date(view.last_at)} · each escalation keeps its own id, vote and deadline"
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=clip(when, 3000))]))
    actions = _buttons(view)
    if actions is not None:
        blocks.append(actions)
    return fallback_text(view), [block.to_dict() for block in blocks]


def escalated_dm(view: StormView, deadline: datetime) -> str:
    """The one direct message a chair or owner gets when a storm's escalations time out to escalate."""
    return (
        f":rotating_light: The storm of *{escape(view.agent)}* in {channel(view.channel_id)} reached its "
        f"deadlines without decisions, and its policy escalates them to you ({summary_line(view)}). "
        f"They are extended to {slack_date(deadline)}; decide them from the grouped message, with "
        "Reject all pending or Review individually. This is the only message you get for this storm."
    )


def paused_dm(view: StormView) -> str:
    """The direct message to the agent's owner when storm control paused it."""
    return (
        f":octagonal_sign: Council paused *{escape(view.agent)}*, an agent you own: it passed its "
        f"`auto_pause_after` in a storm ({summary_line(view)}). Its new requests are refused until "
        f"it is resumed with `/council agent resume {escape(view.agent)}`. The storm is in "
        f"{channel(view.channel_id)}."
    )
