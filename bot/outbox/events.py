"""What happened, as the outbox keeps it: one typed event per row, said in Slack only when delivered.

Services write these in the transaction of the change they describe; `bot.outbox.worker` reads each
row back as one of them and hands it to its deliverer. An event carries the facts of the moment it
was written (who voted, the reason given); the state it shows (title, tally, buttons) is read again
at delivery, so a message never shows a stale escalation.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class Event(BaseModel):
    """An outbox event; `type` is stored as the row's kind."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    # A refresh-only event can be absorbed by any later re-render of the same message.
    coalesces: ClassVar[bool] = False
    # Agent callbacks go in their own lane, so a slow agent never holds up Slack, nor Slack an agent.
    lane: ClassVar[str] = "slack"
    # An ordered event goes after its escalation's earlier rows, and holds up the later ones. A DM
    # that may wait hours for its person's working hours is not: it must not hold up the channel.
    ordered: ClassVar[bool] = True


class Opened(Event):
    """An escalation or incident needs the council: post its message to the council channel."""

    type: Literal["escalation.opened"] = "escalation.opened"


class TallyChanged(Event):
    """A vote changed the tally; the message shows the new one (debounced, coalesced)."""

    type: Literal["escalation.tally"] = "escalation.tally"
    coalesces: ClassVar[bool] = True


class ExecutionReported(Event):
    """The agent reported what ran; the message shows proposed, approved and executed amounts."""

    type: Literal["escalation.executed"] = "escalation.executed"
    coalesces: ClassVar[bool] = True


class Decided(Event):
    """The escalation was decided: the final message, and the outcome with reasons in its thread."""

    type: Literal["escalation.decided"] = "escalation.decided"


class Amended(Event):
    """The agent amended a pending escalation; the votes cast so far were voided."""

    type: Literal["escalation.amended"] = "escalation.amended"
    version: int
    fields: list[str]
    voided: list[str] = Field(default_factory=list)


class Withdrawn(Event):
    """The agent withdrew a pending escalation."""

    type: Literal["escalation.withdrawn"] = "escalation.withdrawn"
    reason: str | None = None
    voters: list[str] = Field(default_factory=list)


class Extended(Event):
    """No decision by the deadline: extended once, and with `escalated` also put to chairs and owner."""

    type: Literal["escalation.extended"] = "escalation.extended"
    deadline: datetime
    escalated: bool = False


class EscalatedToYou(Event):
    """A direct message: an escalation past its deadline is now yours to see decided."""

    type: Literal["escalation.escalated"] = "escalation.escalated"
    user: str
    deadline: datetime


class Reminder(Event):
    """A direct message, in the member's working hours: your vote is still needed."""

    type: Literal["escalation.reminder"] = "escalation.reminder"
    ordered: ClassVar[bool] = False
    user: str


class PulseAsked(Event):
    """A direct message, in the member's working hours: how sustainable was your council load this week?"""

    type: Literal["pulse.asked"] = "pulse.asked"
    ordered: ClassVar[bool] = False
    user: str
    council: str
    week: str  # "2026-W49", in the council's timezone


class IncidentOwned(Event):
    """A member took ownership of an incident."""

    type: Literal["incident.owned"] = "incident.owned"
    user: str


class IncidentResolved(Event):
    """An incident was resolved, with the notes of how."""

    type: Literal["incident.resolved"] = "incident.resolved"
    user: str
    notes: str


class IncidentUnowned(Event):
    """Nobody took an incident by its deadline; these people were told."""

    type: Literal["incident.unowned"] = "incident.unowned"
    told: list[str]


class IncidentUnownedAlert(Event):
    """A direct message: an incident has no owner yet."""

    type: Literal["incident.unowned_alert"] = "incident.unowned_alert"
    user: str


class Breach(Event):
    """An execution went beyond its approval (said in the approved escalation's thread)."""

    type: Literal["escalation.breach"] = "escalation.breach"
    agent: str
    summary: str
    incident: str


class AgentPaused(Event):
    """A direct message to an agent's owner: Council paused the agent after a breach."""

    type: Literal["agent.paused"] = "agent.paused"
    user: str
    agent: str
    summary: str
    escalation: str
    incident: str


class StormOpened(Event):
    """An agent's escalations became a storm: post its one grouped message to the council channel."""

    type: Literal["storm.opened"] = "storm.opened"
    storm: int


class StormChanged(Event):
    """A storm grew, was decided in part, or ended: its grouped message shows it as it stands.

    Services keep one of these waiting per storm (see bot.services.storms.touch), not one per change.
    """

    type: Literal["storm.changed"] = "storm.changed"
    storm: int


class StormAutoPaused(Event):
    """A direct message to an agent's owner: the storm passed auto_pause_after, so Council paused it."""

    type: Literal["storm.auto_paused"] = "storm.auto_paused"
    user: str
    storm: int


class StormEscalated(Event):
    """A direct message: a storm's escalations reached their deadline, and on_timeout escalated them.

    Sent once per storm to each chair and the agent's owner, not once per escalation.
    """

    type: Literal["storm.escalated"] = "storm.escalated"
    user: str
    storm: int
    deadline: datetime


class DigestReady(Event):
    """A council's weekly digest: the message in its channel, the chart in the message's thread.

    The figures are computed when the digest is queued and travel with it, so a digest delivered
    after an outage says what the week was, not what the database holds by then.
    """

    type: Literal["digest.ready"] = "digest.ready"
    council: str
    channel: str
    week: str
    digest: dict[str, Any]
    # True for the weekly run; False when an admin asked for it with `/council digest now`.
    scheduled: bool = True
    # Set once the message is posted, so a retry only uploads the chart.
    ts: str | None = None


class AdminChanged(Event):
    """An admin or chair changed shared state from Slack: one short line in a council's channel.

    `action` is the audit action (`agent.paused`, `member.added`, …); `bot.slack.admin_notice` words it.
    """

    type: Literal["admin.changed"] = "admin.changed"
    ordered: ClassVar[bool] = False
    channel: str
    actor: str
    action: str
    subject: str
    detail: str | None = None
    # A Slack user id the line mentions after the detail (who holds an away member's seat).
    delegate: str | None = None


class DecisionLogAsked(Event):
    """An admin asked for the decision log: a CSV file in their DM with the bot, never in a channel.

    The file is built when delivered, from the log as it then stands: a row holds who asked and
    from when, not the log itself, which may be far larger than a row should be.
    """

    type: Literal["decision_log.asked"] = "decision_log.asked"
    ordered: ClassVar[bool] = False
    user: str
    since: date | None = None


class AgentCallback(Event):
    """The signed callback that tells an agent its escalation was decided; the body is fixed once."""

    type: Literal["agent.callback"] = "agent.callback"
    lane: ClassVar[str] = "agents"
    url: str
    body: dict[str, Any]


AnyEvent = Annotated[
    Opened
    | TallyChanged
    | ExecutionReported
    | Decided
    | Amended
    | Withdrawn
    | Extended
    | EscalatedToYou
    | Reminder
    | IncidentOwned
    | IncidentResolved
    | IncidentUnowned
    | IncidentUnownedAlert
    | Breach
    | AgentPaused
    | StormOpened
    | StormChanged
    | StormAutoPaused
    | StormEscalated
    | DigestReady
    | PulseAsked
    | AdminChanged
    | DecisionLogAsked
    | AgentCallback,
    Field(discriminator="type"),
]
EVENTS: TypeAdapter[AnyEvent] = TypeAdapter(AnyEvent)
EVENT_TYPES: tuple[type[Event], ...] = (
    Opened,
    TallyChanged,
    ExecutionReported,
    Decided,
    Amended,
    Withdrawn,
    Extended,
    EscalatedToYou,
    Reminder,
    IncidentOwned,
    IncidentResolved,
    IncidentUnowned,
    IncidentUnownedAlert,
    Breach,
    AgentPaused,
    StormOpened,
    StormChanged,
    StormAutoPaused,
    StormEscalated,
    DigestReady,
    PulseAsked,
    AdminChanged,
    DecisionLogAsked,
    AgentCallback,
)


def kind_of(event_type: type[Event]) -> str:
    """The row kind an event class is stored under (its `type`)."""
    return str(event_type.model_fields["type"].default)


COALESCING_KINDS = tuple(kind_of(t) for t in EVENT_TYPES if t.coalesces)
UNORDERED_KINDS = tuple(kind_of(t) for t in EVENT_TYPES if not t.ordered)
LANE_KINDS: dict[str, tuple[str, ...]] = {
    lane: tuple(kind_of(t) for t in EVENT_TYPES if t.lane == lane) for lane in ("slack", "agents")
}


def read(kind: str, payload: dict[str, Any]) -> Event:
    """Read a stored row back as its event; raises pydantic's ValidationError when it is not one."""
    return EVENTS.validate_python({**payload, "type": kind})
