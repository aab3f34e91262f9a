"""Cast a vote, re-evaluate the escalation's frozen rule, and decide it when the rule closes."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from bot.db import transaction
from bot.errors import Conflict, EscalationClosed, Invalid, NotAMember, NotFound
from bot.governance import Choice, Elector, Snapshot, Verdict, evaluate, money
from bot.outbox.enqueue import enqueue
from bot.outbox.events import TallyChanged
from bot.runtime import Runtime
from bot.services import audit, decisions
from bot.services.lookup import checked_id
from bot.services.serialize import vote_choices
from models import Escalation, Vote
from models.enums import DecidedBy, Outcome, Status

log = logging.getLogger(__name__)
MAX_TEXT = 2000


@dataclass(frozen=True)
class Ballot:
    """One member's vote as they cast it: a choice, and what they said with it."""

    choice: Choice
    reason: str | None = None
    conditions: str | None = None
    approved_amount: Decimal | None = None


@dataclass(frozen=True)
class VoteResult:
    """What a vote did: the verdict after it, and whether it replaced an earlier vote."""

    escalation: Escalation
    verdict: Verdict
    changed_from: str | None


@dataclass(frozen=True)
class Votable:
    """An escalation a member may vote on, at the version they are looking at (to fill a modal)."""

    public_id: str
    version: int
    title: str
    amount: Decimal | None
    currency: str | None


def elector_of(escalation: Escalation, user: str) -> Elector:
    """Return the user's seat in the frozen electorate, or refuse them."""
    snapshot = Snapshot.read(escalation.rule, escalation.electorate)
    seat = snapshot.seat(user)
    if seat is None:
        held = next((e for e in snapshot.electorate if e.on_behalf_of == user), None)
        if held is not None:
            raise NotAMember(
                f"You were away when this escalation opened: <@{held.user}> holds your seat on it and votes "
                "for you. You vote again on escalations opened after you are back."
            )
        raise NotAMember("You are not on this council, so you cannot vote on this escalation.")
    return seat


def _open_for(
    escalation: Escalation | None, public_id: str, user: str, version: int | None
) -> tuple[Escalation, Elector]:
    if escalation is None:
        raise NotFound(f"There is no escalation {public_id}.")
    elector = elector_of(escalation, user)
    if escalation.status != Status.PENDING:
        raise EscalationClosed(f"This escalation is already {escalation.status}; votes are closed.")
    if escalation.deadline is not None and escalation.deadline <= datetime.now(UTC):
        # The sweep applies on_timeout shortly; until then no vote may slip in after the deadline.
        raise EscalationClosed("The deadline has passed; votes are closed.")
    if version is not None and version != escalation.version:
        raise Conflict(
            "The agent amended this escalation after you opened it "
            f"(it is now version {escalation.version}); read the updated message and vote again.",
            code="stale_version",
        )
    return escalation, elector


async def check_can_vote(*, public_id: str, user: str, version: int | None = None) -> Votable:
    """Refuse early (before a modal opens) a user who could not vote on this escalation."""
    found = await Escalation.filter(public_id=checked_id(public_id)).first()
    escalation, _ = _open_for(found, public_id, user, version)
    return Votable(
        escalation.public_id, escalation.version, escalation.title, escalation.amount, escalation.currency
    )


def parse_amount(text: str | None) -> Decimal | None:
    """Read an amount typed into a modal ('900', '1,250.50'); empty means none."""
    cleaned = (text or "").replace(",", "").strip()
    if not cleaned:
        return None
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise Invalid("Enter a number, like 900 or 900.50.", details={"field": "approved_amount"}) from None
    if not amount.is_finite() or amount <= 0:
        raise Invalid("Enter an amount above zero.", details={"field": "approved_amount"})
    return amount


def _checked(ballot: Ballot, escalation: Escalation) -> Ballot:
    reason = (ballot.reason or "").strip() or None
    conditions = (ballot.conditions or "").strip() or None
    if ballot.choice == Choice.REJECT and reason is None:
        raise Invalid("A rejection needs a reason.", details={"field": "reason"})
    for name, text in (("reason", reason), ("conditions", conditions)):
        if text is not None and len(text) > MAX_TEXT:
            raise Invalid(f"Keep the {name} under {MAX_TEXT} characters.", details={"field": name})
    if (conditions or ballot.approved_amount is not None) and ballot.choice != Choice.APPROVE:
        raise Invalid("Only an approval can carry conditions.", details={"field": "conditions"})
    amount = ballot.approved_amount
    if amount is not None:
        if escalation.amount is None:
            raise Invalid("This escalation has no amount to lower.", details={"field": "approved_amount"})
        if amount > escalation.amount:
            limit = money(escalation.amount, escalation.currency)
            raise Invalid(
                f"The approved amount cannot exceed the {limit} requested.",
                details={"field": "approved_amount"},
            )
    return Ballot(ballot.choice, reason, conditions, amount)


async def _store(
    conn: BaseDBAsyncClient, escalation: Escalation, elector: Elector, ballot: Ballot
) -> Vote | None:
    """Write the member's vote (one row each), audited with what it replaced; return the earlier vote."""
    values: dict[str, Any] = {
        "choice": ballot.choice.value,
        "reason": ballot.reason,
        "conditions": ballot.conditions,
        "approved_amount": ballot.approved_amount,
    }
    user = elector.user
    previous = await Vote.filter(escalation=escalation, user_id=user).using_db(conn).first()
    if previous is None:
        await Vote.create(
            using_db=conn,
            escalation=escalation,
            user_id=user,
            function=elector.function,
            on_behalf_of=elector.on_behalf_of,
            **values,
        )
    else:
        await Vote.filter(id=previous.id).using_db(conn).update(**values, updated_at=datetime.now(UTC))
    was = None
    if previous is not None:
        was = {"choice": previous.choice, "reason": previous.reason, "conditions": previous.conditions}
    await audit.record(
        conn,
        actor_type="member",
        actor_id=user,
        action="vote.changed" if previous else "vote.cast",
        subject=escalation.public_id,
        payload={**values, "previous": was, "on_behalf_of": elector.on_behalf_of},
    )
    return previous


async def _judge(
    rt: Runtime, conn: BaseDBAsyncClient, escalation: Escalation, user: str, note: str | None
) -> Verdict:
    """Evaluate the frozen rule over the current votes; decide the escalation when it closes."""
    # In the order each current vote was cast: the `single` rule is decided by the first one.
    votes = await Vote.filter(escalation=escalation).using_db(conn).order_by("updated_at", "id")
    snapshot = Snapshot.read(escalation.rule, escalation.electorate)
    if snapshot.rule is None:  # only escalations put to a vote have an electorate to vote from
        raise EscalationClosed("This escalation is not put to a vote.")
    verdict = evaluate(snapshot.rule, snapshot.electorate, vote_choices(votes))
    if verdict.outcome is not None:
        await decisions.record(
            conn,
            escalation,
            outcome=Outcome(verdict.outcome.value),
            decided_by=DecidedBy.COUNCIL,
            reasons=[verdict.reason, *([note] if note else [])],
            actor=user,
        )
    elif escalation.storm_id is None:  # one in a storm has no message of its own to show it in
        await enqueue(conn, TallyChanged(), escalation=escalation, delay=rt.settings.council_tally_debounce)
    return verdict


async def cast(
    rt: Runtime,
    *,
    public_id: str,
    user: str,
    ballot: Ballot,
    version: int | None = None,
    note: str | None = None,
) -> VoteResult:
    """Record or change a member's vote; close the escalation if the rule is now decided.

    `note` joins the decision's reasons when this vote decides it (a storm's bulk reject says so).
    """
    async with transaction() as conn:
        # Row lock on PostgreSQL: votes on one escalation are evaluated one after another.
        found = (
            await Escalation.filter(public_id=checked_id(public_id))
            .select_for_update()
            .using_db(conn)
            .first()
        )
        escalation, elector = _open_for(found, public_id, user, version)
        previous = await _store(conn, escalation, elector, _checked(ballot, escalation))
        verdict = await _judge(rt, conn, escalation, user, note)
    rt.after_commit(decided=public_id if verdict.decided else None)
    rt.metrics.voted(ballot.choice)
    if verdict.decided:
        rt.metrics.closed(escalation, decided_by=DecidedBy.COUNCIL)
    change = f" (was {previous.choice})" if previous else ""
    log.info("vote recorded: %s voted %s%s", elector.user, ballot.choice, change)
    return VoteResult(escalation, verdict, previous.choice if previous else None)
