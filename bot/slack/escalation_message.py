"""The escalation's message in the council channel: open with buttons, or final without."""

from __future__ import annotations

import json
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

from bot.governance import Choice
from bot.slack import ids
from bot.slack.escalation_view import CHOICE_LABEL, KIND_LABEL, OUTCOME_LINE, EscalationView, VoteLine
from bot.slack.text import clip, escape, link, mention, money, safe, slack_date
from models.enums import Kind, Status

FINAL_HEADER: dict[str, tuple[str, str]] = {
    Status.APPROVED: ("✅", "Approved"),
    Status.REJECTED: ("❌", "Rejected"),
    Status.EXPIRED: ("⌛", "Expired"),
    Status.WITHDRAWN: ("↩️", "Withdrawn"),
    Status.ACKNOWLEDGED: ("🚨", "Incident (owned)"),
    Status.RESOLVED: ("✅", "Incident resolved"),
}


def _mrkdwn(text: str, limit: int = 3000) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=clip(text, limit)))


def _note(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=clip(text, 3000))])


def fallback_text(view: EscalationView) -> str:
    """The notification text (also what screen readers and old clients show)."""
    head = (
        FINAL_HEADER[view.status][1]
        if view.status in FINAL_HEADER
        else KIND_LABEL.get(view.kind, "Escalation")
    )
    amount = f" ({money(view.amount, view.currency)})" if view.amount is not None else ""
    return f"{head}: {safe(view.title, 200)}{amount} from {escape(view.agent)}"


def _header(view: EscalationView) -> HeaderBlock:
    icon = {Kind.APPROVAL: "🟡", Kind.INCIDENT: "🚨", Kind.NOTICE: "📣"}.get(Kind(view.kind), "•")
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
        facts.append(
            "*Action*\n" + " → ".join(safe(part, 200) for part in (view.action_type, view.target) if part)
        )
    if view.risk:
        facts.append(f"*Risk*\n{escape(view.risk)}")
    if view.category:
        facts.append(f"*Category*\n{safe(view.category, 100)}")
    if view.deadline and view.status in (Status.PENDING, Status.OPEN):
        label = "Take ownership by" if view.kind == Kind.INCIDENT else "Deadline"
        facts.append(f"*{label}*\n{slack_date(view.deadline)}")
    if view.rule:
        facts.append(f"*Rule*\n{escape(view.rule)}")
    return SectionBlock(fields=[MarkdownTextObject(text=clip(f, 2000)) for f in facts[:10]])


def _context_text(context: dict[str, Any]) -> str:
    lines = []
    for key, value in context.items():
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        lines.append(f"*{safe(str(key), 80)}*: {safe(shown, 300)}")
    return "\n".join(lines)


def vote_line(vote: VoteLine, currency: str | None) -> str:
    """One member's vote as the channel reads it, with their reason or conditions."""
    seat = (
        f"{escape(vote.function)}, for {mention(vote.on_behalf_of)}"
        if vote.on_behalf_of
        else escape(vote.function)
    )
    text = f"{mention(vote.user)} ({seat}): *{CHOICE_LABEL.get(vote.choice, vote.choice)}*"
    if vote.conditions:
        text += f" with conditions — {safe(vote.conditions, 300)}"
    if vote.approved_amount is not None:
        text += f" (up to {money(vote.approved_amount, currency)})"
    if vote.reason:
        text += f" — {safe(vote.reason, 300)}"
    return text


def _votes(view: EscalationView) -> list[Block]:
    counts: dict[str, int] = dict.fromkeys(CHOICE_LABEL, 0)
    for vote in view.votes:
        counts[vote.choice] = counts.get(vote.choice, 0) + 1
    waiting = max(len(view.electorate) - len(view.votes), 0)
    summary = " · ".join(f"{CHOICE_LABEL[c]} {n}" for c, n in counts.items() if n or c != "recuse")
    blocks: list[Block] = [_note(f"*Tally* {summary} · Waiting {waiting}")]
    if view.votes:
        blocks.append(_mrkdwn("\n".join(vote_line(v, view.currency) for v in view.votes)))
    return blocks


def _buttons(value: str, *labels: tuple[str, str, str | None]) -> ActionsBlock:
    return ActionsBlock(
        block_id=ids.VOTE_ACTIONS_BLOCK,
        elements=[
            ButtonElement(text=text, action_id=action, value=value, style=style)
            for text, action, style in labels
        ],
    )


def outcome_text(view: EscalationView) -> str:
    """The decision in one paragraph: outcome, who decided, why, and on what terms."""
    line = OUTCOME_LINE.get(view.outcome or "", escape(view.outcome or ""))
    text = f"{line} by {escape(view.decided_by or '')} — {'; '.join(escape(r) for r in view.reasons)}"
    if view.approved_amount is not None and view.amount is not None and view.approved_amount < view.amount:
        approved, asked = money(view.approved_amount, view.currency), money(view.amount, view.currency)
        text += f"\n*Approved amount* {approved} (of {asked})"
    if view.conditions:
        text += f"\n*Conditions*\n{safe(view.conditions, 1500)}"
    return text


def _execution(execution: dict[str, Any], currency: str | None) -> str:
    def shown(key: str) -> str:
        value = execution.get(key)
        return money(Decimal(value), currency) if value is not None else "—"

    mark = ":white_check_mark:" if execution.get("within_approval") else ":rotating_light:"
    text = (
        f"{mark} *Executed* ({escape(str(execution.get('status')))}): proposed {shown('proposed_amount')} · "
        f"approved {shown('approved_amount')} · executed {shown('executed_amount')}"
    )
    return text + (f"\n{escape(str(execution['breach']))}" if execution.get("breach") else "")


def _approval(view: EscalationView) -> list[Block]:
    blocks: list[Block] = [DividerBlock(), *_votes(view)]
    if view.outcome:
        blocks.append(_mrkdwn(outcome_text(view)))
    elif view.status == Status.WITHDRAWN:
        why = f": {escape(view.resolution)}" if view.resolution else ""
        blocks.append(_mrkdwn(f":leftwards_arrow_with_hook: *Withdrawn by the agent*{why}"))
    elif view.status == Status.PENDING:
        blocks.append(
            _buttons(
                ids.vote_value(view.public_id, view.version),
                (CHOICE_LABEL[Choice.APPROVE], ids.APPROVE, "primary"),
                ("Approve with conditions", ids.APPROVE_WITH_CONDITIONS, None),
                (CHOICE_LABEL[Choice.REJECT], ids.REJECT, "danger"),
                (CHOICE_LABEL[Choice.ABSTAIN], ids.ABSTAIN, None),
                (CHOICE_LABEL[Choice.RECUSE], ids.RECUSE, None),
            )
        )
    if view.execution:
        blocks.append(_mrkdwn(_execution(view.execution, view.currency)))
    return blocks


def _incident(view: EscalationView) -> list[Block]:
    owner = f"Owner: {mention(view.incident_owner)}" if view.incident_owner else "*No owner yet* — take it."
    blocks: list[Block] = [DividerBlock(), _mrkdwn(owner)]
    if view.status == Status.RESOLVED:
        blocks.append(_mrkdwn(f":white_check_mark: *Resolved* — {safe(view.resolution or '', 2500)}"))
    else:
        labels = [("Take ownership", ids.TAKE_OWNERSHIP, "primary")] if view.status == Status.OPEN else []
        blocks.append(_buttons(view.public_id, *labels, ("Resolve", ids.RESOLVE, None)))
    return blocks


def render(view: EscalationView) -> tuple[str, list[dict[str, Any]]]:
    """Return the message's fallback text and blocks."""
    blocks: list[Block] = [_header(view), _facts(view)]
    if view.summary:
        blocks.append(_mrkdwn(safe(view.summary, 2900)))
    if view.context:
        blocks.append(_mrkdwn(_context_text(view.context), 2900))
    if view.links:
        blocks.append(_note(" · ".join(link(item["url"], item["title"]) for item in view.links[:10])))
    if view.kind == Kind.APPROVAL:
        blocks.extend(_approval(view))
    elif view.kind == Kind.INCIDENT:
        blocks.extend(_incident(view))
    footer = f"`{view.public_id}`" + (f" · v{view.version}" if view.version > 1 else "")
    footer += f" · {escape(view.route_reason)}" if view.route_reason else ""
    blocks.append(_note(footer))
    return fallback_text(view), [block.to_dict() for block in blocks]


def decision_reply(view: EscalationView) -> str:
    """The thread reply that announces the decision and everyone's reasons."""
    parts = [outcome_text(view)] + [f"• {vote_line(v, view.currency)}" for v in view.votes]
    return clip("\n".join(parts), 3900)
