"""Cast a vote, re-evaluate the escalation's frozen rule, and decide it when the rule closes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from bot.db import transaction
from bot.errors import EscalationClosed, Invalid, NotAMember, NotFound
from bot.governance.rules import Choice, Elector, Rule, Verdict, evaluate
from bot.runtime import Runtime
from bot.services import audit, decisions, outbox
from bot.services.serialize import vote_choices
from models import Escalation, Vote

MAX_REASON = 2000


@dataclass(frozen=True)
class VoteResult:
    """What a vote did: the verdict after it, and whether it replaced an earlier vote."""

    escalation: Escalation
    verdict: Verdict
    changed_from: str | None


def elector_of(escalation: Escalation, user: str) -> Elector:
    """Return the user's seat in the frozen electorate, or refuse them."""
    for entry in escalation.electorate:
        if entry["user"] == user:
            return Elector(**entry)
    raise NotAMember("You are not on this council, so you cannot vote on this escalation.")


async def check_can_vote(*, public_id: str, user: str) -> Escalation:
    """Refuse early (before a modal opens) a user who could not vote on this escalation."""
    escalation = await Escalation.filter(public_id=public_id).first()
    if escalation is None:
        raise NotFound(f"There is no escalation {public_id}.")
    elector_of(escalation, user)
    if escalation.status != "pending":
        raise EscalationClosed(f"This escalation is already {escalation.status}; votes are closed.")
    return escalation


async def cast(rt: Runtime, *, public_id: str, user: str, choice: Choice, reason: str | None) -> VoteResult:
    """Record or change a member's vote; close the escalation if the rule is now decided."""
    reason = (reason or "").strip() or None
    if choice == Choice.REJECT and reason is None:
        raise Invalid("A rejection needs a reason.")
    if reason is not None and len(reason) > MAX_REASON:
        raise Invalid(f"Keep the reason under {MAX_REASON} characters.")
    async with transaction() as conn:
        # Row lock on PostgreSQL: votes on one escalation are evaluated one after another.
        escalation = await Escalation.filter(public_id=public_id).select_for_update().using_db(conn).first()
        if escalation is None:
            raise NotFound(f"There is no escalation {public_id}.")
        elector = elector_of(escalation, user)
        if escalation.status != "pending":
            raise EscalationClosed(f"This escalation is already {escalation.status}; votes are closed.")
        previous = await Vote.filter(escalation=escalation, user_id=user).using_db(conn).first()
        if previous is None:
            await Vote.create(
                using_db=conn,
                escalation=escalation,
                user_id=user,
                function=elector.function,
                choice=choice.value,
                reason=reason,
            )
        else:
            await (
                Vote.filter(id=previous.id)
                .using_db(conn)
                .update(choice=choice.value, reason=reason, updated_at=datetime.now(UTC))
            )
        await audit.record(
            conn,
            actor_type="member",
            actor_id=user,
            action="vote.changed" if previous else "vote.cast",
            subject=public_id,
            payload={
                "choice": choice.value,
                "reason": reason,
                "previous": {"choice": previous.choice, "reason": previous.reason} if previous else None,
            },
        )
        # In the order each current vote was cast: the `single` rule is decided by the first one.
        votes = await Vote.filter(escalation=escalation).using_db(conn).order_by("updated_at", "id")
        electorate = [Elector(**e) for e in escalation.electorate]
        verdict = evaluate(Rule.model_validate(escalation.rule), electorate, vote_choices(votes))
        if verdict.outcome is not None:
            await decisions.record(
                conn,
                escalation,
                outcome=verdict.outcome.value,
                decided_by="council",
                reasons=[verdict.reason],
                actor=user,
            )
        else:
            await outbox.enqueue(
                conn,
                outbox.UPDATE_ESCALATION,
                escalation=escalation,
                delay=rt.settings.council_tally_debounce,
            )
    rt.after_commit(decided=public_id if verdict.decided else None)
    return VoteResult(escalation, verdict, previous.choice if previous else None)
