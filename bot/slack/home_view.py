"""The App Home tab: what awaits the viewer's vote (with the vote buttons), their incidents, their
councils' recent decisions and their load this week; admins also see the agents and dead deliveries.

Pure: takes the plain data `bot.services.home` reads and returns the view as a dict for
views.publish. Everything an agent wrote is escaped here.

Slack takes at most 100 blocks in a Home view, so each list shows its first few and says how many
more there are. The most the view comes to: 3 (title, intro, note) + awaiting 2 + 2 × SHOWN_AWAITING
+ incidents 3 + SHOWN_INCIDENTS + decisions 3 + load 3 + agents 3 + SHOWN_AGENTS + dead deliveries 3
= 90 blocks; tests/handlers/slack/test_home.py fills every list past its limit to hold it to that.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.governance import Choice
from bot.services.admin import AgentLine
from bot.services.agents import REMOVED_FROM_FILE
from bot.services.home import Awaiting, HomeData, Load, Oversight, OwnedIncident, RecentDecision
from bot.slack import ids
from bot.slack.escalation_view import CHOICE_LABEL, OUTCOME_LINE
from bot.slack.text import channel, clip, escape, escape_keeping_mentions, mention, money, safe, slack_date
from models.enums import AgentStatus

MAX_BLOCKS = 100  # Slack refuses a Home view with more
MAX_SECTION = 3000  # characters in one section's text
SHOWN_AWAITING, SHOWN_INCIDENTS, SHOWN_AGENTS = 20, 10, 20
# The channel message's vote buttons, in its order, with its labels and action ids.
VOTE_BUTTONS: tuple[tuple[str, str, str | None], ...] = (
    (CHOICE_LABEL[Choice.APPROVE], ids.APPROVE, "primary"),
    ("Approve with conditions", ids.APPROVE_WITH_CONDITIONS, None),
    (CHOICE_LABEL[Choice.REJECT], ids.REJECT, "danger"),
    (CHOICE_LABEL[Choice.ABSTAIN], ids.ABSTAIN, None),
    (CHOICE_LABEL[Choice.RECUSE], ids.RECUSE, None),
)


def voted(public_id: str, choice: str, was: str | None = None) -> str:
    """Confirm a vote to the voter (under the message, or atop their Home tab)."""
    changed = f" (was {escape(was.capitalize())})" if was and was != choice else ""
    return f"Your vote on `{escape(public_id)}`: *{CHOICE_LABEL[choice]}*{changed}."


def refusal(message: str) -> str:
    """Show why Council did not do what the viewer clicked (Home has no place for an ephemeral)."""
    return f":warning: {escape_keeping_mentions(message)}"


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=clip(text, MAX_SECTION)))


def _note(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=clip(text, MAX_SECTION))])


def _heading(text: str) -> list[Block]:
    return [DividerBlock(), HeaderBlock(text=text)]


def _more(total: int, shown: int, where: str) -> list[Block]:
    return [_note(f"… and {total - shown} more; {where}.")] if total > shown else []


def _many(n: int, thing: str) -> str:
    return f"*{n}* {thing}" if n == 1 else f"*{n}* {thing}s"


def _awaiting(item: Awaiting) -> list[Block]:
    facts = [escape(item.agent)]
    if item.amount is not None:
        facts.append(money(item.amount, item.currency))
    facts.append(f"due {slack_date(item.deadline)}" if item.deadline else "no deadline")
    text = (
        f"*{safe(item.title, 200)}*\n"
        + " · ".join(facts)
        + f"\n`{item.public_id}` in {channel(item.channel_id)}"
    )
    value = ids.vote_value(item.public_id, item.version)
    buttons = ActionsBlock(
        block_id=ids.home_vote_block(item.public_id),
        elements=[
            ButtonElement(text=label, action_id=action, value=value, style=style)
            for label, action, style in VOTE_BUTTONS
        ],
    )
    return [_section(text), buttons]


def _incident(item: OwnedIncident) -> SectionBlock:
    opened = f", opened {slack_date(item.opened_at)}" if item.opened_at else ""
    return _section(
        f"*{safe(item.title, 200)}*\n{escape(item.agent)} · {escape(item.status)}{opened}\n"
        f"`{item.public_id}` in {channel(item.channel_id)}: resolve it from its message there"
    )


def _decision(item: RecentDecision) -> str:
    outcome = OUTCOME_LINE.get(item.status) or f"*{escape(item.status.capitalize())}*"
    amount = f" ({money(item.amount, item.currency)})" if item.amount is not None else ""
    yours = f" · you voted {CHOICE_LABEL.get(item.your_choice, '')}" if item.your_choice else ""
    return (
        f"• {outcome} `{item.public_id}` {safe(item.title, 150)}{amount} — by {escape(item.decided_by)}, "
        f"{slack_date(item.decided_at)}{yours}"
    )


def _load(load: Load | None) -> Block:
    if load is None:
        return _note("You sit on no council, so no vote is asked of you.")
    hours = load.hours.text.replace("-", "–")
    return _section(
        f"{_many(load.asked, 'vote')} asked of you, {load.voted} cast; {load.out_of_hours} of the asks "
        f"came outside your working hours ({hours}, {escape(load.timezone)}); "
        f"{_many(load.reminders, 'reminder')}.\n"
        f"Week {load.week}, in your timezone. Change your hours with `/council me hours=08:00-16:00`."
    )


def _agent(line: AgentLine) -> SectionBlock:
    reason = f": {safe(line.paused_reason, 300)}" if line.paused_reason else ""
    text = f"*{escape(line.name)}* — {escape(line.status)}{reason}\nowner {mention(line.owner)}"
    block_id = ids.home_agent_block(line.name)
    if line.status == AgentStatus.PAUSED and line.paused_reason == REMOVED_FROM_FILE:
        return SectionBlock(
            block_id=block_id,
            text=MarkdownTextObject(text=text + " · add it back to council.yml to resume it"),
        )
    if line.status == AgentStatus.PAUSED:
        button = ButtonElement(
            text="Resume", action_id=ids.HOME_RESUME_AGENT, value=line.name, style="primary"
        )
    else:
        confirm = ConfirmObject(
            title=clip(f"Pause {line.name}?", 100),
            text="Its requests are refused until an admin resumes it.",
            confirm="Pause",
            deny="Cancel",
            style="danger",
        )
        button = ButtonElement(
            text="Pause", action_id=ids.HOME_PAUSE_AGENT, value=line.name, style="danger", confirm=confirm
        )
    return SectionBlock(block_id=block_id, text=MarkdownTextObject(text=text), accessory=button)


def _dead(oversight: Oversight) -> list[Block]:
    total = sum(oversight.dead.values())
    blocks = _heading(f"Dead deliveries ({total})")
    if not total:
        return [*blocks, _note("No delivery has been given up on.")]
    parts = [
        f"*{n}* to Slack" if target == "slack" else f"*{n}* to agents"
        for target, n in oversight.dead.items()
        if n
    ]
    lines = [f"{', '.join(parts)}, given up on after their retries. The latest:"]
    for row in oversight.latest_dead:
        about = f" for `{row.escalation}`" if row.escalation else ""
        error = safe(row.last_error or "no error recorded", 300)
        lines.append(f"• `#{row.id}` {escape(row.kind)}{about}, {row.attempts} attempts: {error}")
    lines.append("Send them again with `/council outbox retry ID` or `/council outbox retry all`.")
    return [*blocks, _section("\n".join(lines))]


def _admin(oversight: Oversight) -> list[Block]:
    agents = oversight.agents
    blocks = _heading(f"Agents ({len(agents)})")
    blocks += [_agent(line) for line in agents[:SHOWN_AGENTS]] or [_note("No agents yet.")]
    blocks += _more(len(agents), SHOWN_AGENTS, "`/council agents` lists them all")
    return blocks + _dead(oversight)


def build(data: HomeData, *, note: str | None = None) -> dict[str, Any]:
    """Return the Home view for views.publish; `note` (mrkdwn, Council's own words) goes on top."""
    blocks: list[Block] = [
        HeaderBlock(text="Council"),
        _note(
            f"What awaits you, {mention(data.user)}. This tab refreshes each time you open it or act on it."
        ),
    ]
    if note:
        blocks.append(_section(note))
    blocks.append(HeaderBlock(text=f"Awaiting your vote ({len(data.awaiting)})"))
    if data.awaiting:
        blocks += [block for item in data.awaiting[:SHOWN_AWAITING] for block in _awaiting(item)]
        blocks += _more(
            len(data.awaiting), SHOWN_AWAITING, "they are due later, and show here as these are voted on"
        )
    else:
        blocks.append(_note("Nothing awaits your vote."))
    blocks += _heading(f"Incidents you own ({data.incident_count})")
    blocks += [_incident(item) for item in data.incidents[:SHOWN_INCIDENTS]] or [
        _note("You own no open incidents.")
    ]
    blocks += _more(data.incident_count, SHOWN_INCIDENTS, "`/council status` counts them all")
    blocks += _heading("Recent decisions")
    lines = [_decision(item) for item in data.decisions]
    blocks.append(_section("\n".join(lines)) if lines else _note("No decisions yet in your councils."))
    blocks += [*_heading("Your load this week"), _load(data.load)]
    if data.oversight is not None:
        blocks += _admin(data.oversight)
    if len(blocks) > MAX_BLOCKS:  # the budget above keeps it from happening; never send what Slack refuses
        raise ValueError(f"the Home view has {len(blocks)} blocks, over Slack's {MAX_BLOCKS}")
    return View(type="home", blocks=blocks).to_dict()
