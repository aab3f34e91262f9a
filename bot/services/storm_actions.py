"""What the council can do from a storm's grouped message: reject all pending, pause, review.

Voting rules still hold. A bulk reject casts the member's Reject, with their reason, on every
pending escalation of the storm they are seated on, and each escalation's frozen rule decides it:
a veto role or a plain `single` rule rejects at once, any other rule counts one more vote.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from bot.db import transaction
from bot.errors import Conflict, EscalationClosed, Invalid, NotAMember
from bot.governance import Choice, Snapshot
from bot.runtime import Runtime
from bot.services import agents, audit, storms, votes
from bot.services.admin import is_admin
from bot.services.votes import MAX_TEXT, Ballot
from models import Agent, Escalation, Member, Storm, Vote
from models.enums import ActorType, Status

PAGE_SIZE = 10


@dataclass(frozen=True)
class BulkPreview:
    """What a member's bulk reject would do: how many pending they sit on, how many they decide alone."""

    storm_id: int
    agent: str
    seated: int
    alone: int


@dataclass(frozen=True)
class BulkResult:
    """What a bulk reject did: decided rejected, vote counted but still open, or closed meanwhile."""

    rejected: int
    voted: int
    skipped: int


async def _pending(storm_id: int) -> list[Escalation]:
    return await Escalation.filter(storm_id=storm_id, status=Status.PENDING).order_by("id")


async def _storm(storm_id: int) -> tuple[Storm, Agent]:
    storm = await Storm.get(id=storm_id)
    return storm, await Agent.get(id=storm.agent_id)


async def preview_reject(*, storm_id: int, user: str) -> BulkPreview:
    """Say what rejecting all pending would do for this member; refuse one seated on none of them."""
    _, agent = await _storm(storm_id)
    seated = alone = 0
    for escalation in await _pending(storm_id):
        snapshot = Snapshot.read(escalation.rule, escalation.electorate)
        seat = snapshot.seat(user)
        if seat is None or snapshot.rule is None:
            continue
        seated += 1
        alone += snapshot.rule.rejects_alone(seat)
    if not seated:
        raise NotAMember("You are not in the electorate of any escalation still pending in this storm.")
    return BulkPreview(storm_id, agent.name, seated, alone)


async def reject_all(rt: Runtime, *, storm_id: int, user: str, reason: str) -> BulkResult:
    """Cast the member's Reject with their reason on every pending escalation of the storm."""
    reason = reason.strip()
    if not reason:
        raise Invalid("A rejection needs a reason.", details={"field": "reason"})
    if len(reason) > MAX_TEXT:
        raise Invalid(f"Keep the reason under {MAX_TEXT} characters.", details={"field": "reason"})
    await preview_reject(storm_id=storm_id, user=user)
    rejected = voted = skipped = 0
    note = f"rejected with the rest of the storm: {reason}"
    for escalation in await _pending(storm_id):
        try:
            result = await votes.cast(
                rt, public_id=escalation.public_id, user=user, ballot=Ballot(Choice.REJECT, reason), note=note
            )
        except (EscalationClosed, NotAMember, Conflict):
            skipped += 1  # decided or withdrawn meanwhile, or not this member's to vote on
            continue
        if result.verdict.decided:
            rejected += 1
        else:
            voted += 1
    outcome = BulkResult(rejected, voted, skipped)
    await _record(
        rt,
        storm_id,
        user,
        "storm.rejected_all",
        {"reason": reason, "rejected": rejected, "voted": voted, "skipped": skipped},
    )
    return outcome


async def pause_agent(rt: Runtime, *, storm_id: int, user: str) -> Agent:
    """Pause the storm's agent (the kill switch), for its council, its owner or an admin."""
    storm, agent = await _storm(storm_id)
    on_council = await Member.filter(council_id=storm.council_id, user_id=user, active=True).exists()
    if not (on_council or user == agent.owner_user_id or await is_admin(user)):
        raise NotAMember(f"Only the council, {agent.name}'s owner or an admin can pause it from here.")
    paused = await agents.pause(
        name=agent.name, reason=f"paused from its storm message by {user}", actor=user
    )
    await _record(rt, storm_id, user, "storm.paused_agent", {"agent": agent.name})
    return paused


async def _record(rt: Runtime, storm_id: int, user: str, action: str, payload: dict[str, object]) -> None:
    """Audit a bulk action on the storm and have its grouped message show the result."""
    async with transaction() as conn:
        await audit.record(
            conn,
            actor_type=ActorType.MEMBER,
            actor_id=user,
            action=action,
            subject=storms.subject(storm_id),
            payload=payload,
        )
        await storms.touch(conn, storm_id)
    rt.after_commit()


@dataclass(frozen=True)
class ReviewItem:
    """One pending escalation on a review page, with the reviewer's own vote if they cast one."""

    public_id: str
    version: int
    title: str
    amount: Decimal | None
    currency: str | None
    deadline: datetime | None
    your_vote: str | None


@dataclass(frozen=True)
class ReviewPage:
    """Ten pending escalations of a storm at a time, for a member to vote on one by one."""

    storm_id: int
    agent: str
    page: int
    pages: int
    pending: int
    items: list[ReviewItem]


async def review_page(*, storm_id: int, user: str, page: int) -> ReviewPage:
    """Read one page of the storm's pending escalations, oldest first (a page past the end shows the last)."""
    _, agent = await _storm(storm_id)
    waiting = Escalation.filter(storm_id=storm_id, status=Status.PENDING)
    pending = await waiting.count()
    pages = max(1, math.ceil(pending / PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    rows = await waiting.order_by("id").offset(page * PAGE_SIZE).limit(PAGE_SIZE)
    mine = dict(
        await Vote.filter(escalation_id__in=[r.id for r in rows], user_id=user).values_list(
            "escalation_id", "choice"
        )
    )
    items = [
        ReviewItem(r.public_id, r.version, r.title, r.amount, r.currency, r.deadline, mine.get(r.id))
        for r in rows
    ]
    return ReviewPage(storm_id, agent.name, page, pages, pending, items)
