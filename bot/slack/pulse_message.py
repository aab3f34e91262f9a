"""The weekly pulse DM: the question, five buttons, and the member's answer once they gave one.

Pure: takes what `bot.services.pulse` reads. The council's name is escaped here.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.services.pulse import MIN_ANSWERS, SCORES, Asking
from bot.slack import ids
from bot.slack.text import escape

QUESTION = "How sustainable was your council load this week?"
LABELS = {1: "1 · not sustainable", 2: "2", 3: "3", 4: "4", 5: "5 · very sustainable"}


def answered_line(asking: Asking) -> str:
    """Say what the member answered, and until when they may change it."""
    return (
        f"You answered *{asking.score}* for *{escape(asking.council)}*, week {asking.week} — "
        "you can change it until Sunday."
    )


def render(asking: Asking) -> tuple[str, list[dict[str, Any]]]:
    """Return the DM's fallback text and blocks: the question, and the answer so far when there is one."""
    where = f"*{escape(asking.council)}*, week {asking.week}"
    blocks: list[Block] = [
        SectionBlock(
            text=MarkdownTextObject(
                text=f"*{QUESTION}*\n{where}: 1 is not sustainable, 5 is very sustainable."
            )
        ),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=(
                        "You can change your answer until Sunday. Council reports only the council's "
                        "totals (the average, and how many chose each score), and only once at least "
                        f"{MIN_ANSWERS} members answered — never who said what."
                    )
                )
            ]
        ),
    ]
    if asking.score is not None:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=answered_line(asking))))
    blocks.append(
        ActionsBlock(
            block_id=ids.PULSE_BLOCK,
            elements=[
                ButtonElement(
                    text=LABELS[score],
                    action_id=ids.PULSE_ANSWERS[score - 1],
                    value=ids.pulse_value(asking.council, asking.week, score),
                    style="primary" if score == asking.score else None,
                )
                for score in SCORES
            ],
        )
    )
    text = (
        answered_line(asking)
        if asking.score is not None
        else f"{QUESTION} ({escape(asking.council)}, {asking.week})"
    )
    return text, [block.to_dict() for block in blocks]
