"""The escalation's message in the council channel: open with buttons, or final without."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.slack import ids
from bot.slack.text import clip, escape, link, mention, money, safe

OUTCOME_LINE = {
    "approved": ":white_check_mark: *Approved*",
    "rejected": ":x: *Rejected*",
    "expired": ":hourglass: *Expired*",
    "withdrawn": ":leftwards_arrow_with_hook: *Withdrawn by the agent*",
}
FINAL_HEADER = {
    "approved": ("✅", "Approved"),
    "rejected": ("❌", "Rejected"),
    "expired": ("⌛", "Expired"),
    "withdrawn": ("↩️", "Withdrawn"),
}
CHOICE_LABEL = {"approve": "Approve", "reject": "Reject", "abstain": "Abstain", "recuse": "Recuse"}
KIND_LABEL = {"approval": "Approval needed", "incident": "Incident", "notice": "Notice"}


@dataclass(frozen=True)
class VoteLine:
    user: str
    function: str
    choice: str
    reason: str | None


@dataclass(frozen=True)
class EscalationView:
    """Everything the message shows, read from the database by the delivery worker."""

    public_id: str
    kind: str
    status: str
    title: str
    summary: str
    agent: str
    owner: str
    amount: Decimal | None = None
    currency: str | None = None
    action_type: str | None = None
    target: str | None = None
    risk: str | None = None
    category: str | None = None
    context: dict[str, Any] = field(default_factory=dict)
    links: list[dict[str, str]] = field(default_factory=list)
    deadline: datetime | None = None
    rule: str | None = None
    policy: str | None = None
    electorate: list[str] = field(default_factory=list)
    votes: list[VoteLine] = field(default_factory=list)
    outcome: str | None = None
    decided_by: str | None = None
    reasons: list[str] = field(default_factory=list)


def fallback_text(view: EscalationView) -> str:
    """The notification text (also what screen readers and old clients show)."""
    head = KIND_LABEL.get(view.kind, "Escalation")
    if view.outcome:
        head = view.outcome.capitalize()
    amount = f" ({money(view.amount, view.currency)})" if view.amount is not None else ""
    return f"{head}: {safe(view.title, 200)}{amount} from {escape(view.agent)}"


def _header(view: EscalationView) -> HeaderBlock:
    icon = {"approval": "🟡", "incident": "🚨", "notice": "📣"}.get(view.kind, "•")
    label = KIND_LABEL.get(view.kind, "Escalation")
    if view.status in FINAL_HEADER:
        icon, label = FINAL_HEADER[view.status]
    # Header text is plain_text: Slack shows it literally, so it needs no escaping.
    return HeaderBlock(text=clip(f"{icon} {label}: {view.title}", 150))


def _facts(view: EscalationView) -> SectionBlock:
    facts = [f"*Agent*\n{escape(view.agent)} (owner {mention(view.owner)})"]
    if view.amount is not None:
        facts.append(f"*Amount*\n{money(view.amount, view.currency)}")
    if view.action_type or view.target:
        what = " → ".join(safe(part, 200) for part in (view.action_type, view.target) if part)
        facts.append(f"*Action*\n{what}")
    if view.risk:
        facts.append(f"*Risk*\n{escape(view.risk)}")
    if view.category:
        facts.append(f"*Category*\n{safe(view.category, 100)}")
    if view.deadline and view.status == "pending":
        stamp = int(view.deadline.timestamp())
        plain = view.deadline.strftime("%Y-%m-%d %H:%M UTC")
        facts.append(f"*Deadline*\n<!date^{stamp}^{{date_short_pretty}} {{time}}|{plain}>")
    if view.rule:
        facts.append(f"*Rule*\n{escape(view.rule)}")
    return SectionBlock(fields=[MarkdownTextObject(text=clip(f, 2000)) for f in facts[:10]])


def _context_text(context: dict[str, Any]) -> str:
    lines = []
    for key, value in context.items():
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        lines.append(f"*{safe(str(key), 80)}*: {safe(shown, 300)}")
    return "\n".join(lines)


def _votes(view: EscalationView) -> list[Block]:
    counts = {choice: 0 for choice in CHOICE_LABEL}
    for vote in view.votes:
        counts[vote.choice] = counts.get(vote.choice, 0) + 1
    waiting = max(len(view.electorate) - len(view.votes), 0)
    summary = " · ".join(f"{CHOICE_LABEL[c]} {n}" for c, n in counts.items() if n or c != "recuse")
    blocks: list[Block] = [
        ContextBlock(elements=[MarkdownTextObject(text=f"*Tally* {summary} · Waiting {waiting}")])
    ]
    if view.votes:
        lines = []
        for vote in view.votes:
            because = f" — {safe(vote.reason, 300)}" if vote.reason else ""
            label = CHOICE_LABEL.get(vote.choice, vote.choice)
            lines.append(f"{mention(vote.user)} ({escape(vote.function)}): *{label}*{because}")
        blocks.append(SectionBlock(text=MarkdownTextObject(text=clip("\n".join(lines), 3000))))
    return blocks


def _buttons(view: EscalationView) -> ActionsBlock:
    value = view.public_id
    return ActionsBlock(
        block_id=ids.VOTE_ACTIONS_BLOCK,
        elements=[
            ButtonElement(text="Approve", action_id=ids.APPROVE, value=value, style="primary"),
            ButtonElement(text="Reject", action_id=ids.REJECT, value=value, style="danger"),
            ButtonElement(text="Abstain", action_id=ids.ABSTAIN, value=value),
        ],
    )


def render(view: EscalationView) -> tuple[str, list[dict[str, Any]]]:
    """Return the message's fallback text and blocks."""
    blocks: list[Block] = [_header(view), _facts(view)]
    if view.summary:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=safe(view.summary, 2900))))
    if view.context:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=clip(_context_text(view.context), 2900))))
    if view.links:
        shown = " · ".join(link(item["url"], item["title"]) for item in view.links[:10])
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=clip(shown, 2900))]))
    if view.kind == "approval":
        blocks.append(DividerBlock())
        blocks.extend(_votes(view))
        if view.outcome:
            reasons = "; ".join(escape(r) for r in view.reasons)
            line = OUTCOME_LINE.get(view.outcome, escape(view.outcome))
            blocks.append(
                SectionBlock(
                    text=MarkdownTextObject(
                        text=clip(f"{line} by {escape(view.decided_by or '')} — {reasons}", 3000)
                    )
                )
            )
        elif view.status == "pending":
            blocks.append(_buttons(view))
    footer = f"`{view.public_id}`" + (f" · policy {escape(view.policy)}" if view.policy else "")
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=footer)]))
    return fallback_text(view), [block.to_dict() for block in blocks]


def decision_reply(view: EscalationView) -> str:
    """The thread reply that announces the decision and everyone's reasons."""
    line = OUTCOME_LINE.get(view.outcome or "", escape(view.outcome or ""))
    parts = [f"{line} — {'; '.join(escape(r) for r in view.reasons)}"]
    for vote in view.votes:
        because = f": {safe(vote.reason, 500)}" if vote.reason else ""
        label = CHOICE_LABEL.get(vote.choice, vote.choice)
        parts.append(f"• {mention(vote.user)} ({escape(vote.function)}) {label}{because}")
    return clip("\n".join(parts), 3900)
