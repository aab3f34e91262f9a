"""Seats from Slack: add and remove members, mark them away with a delegate and back again.

Admins may change any council; a chair, their own. Every change is audited with what the seat was
before and after, and leaves one line in the council's channel (`AdminChanged`). A change that
would leave a council's voting rule unable to pass (the only finance member removed while a policy
requires finance) is refused and says which rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q

from bot.council_file import MemberSpec, is_name
from bot.db import transaction
from bot.errors import Conflict, Invalid, NotFound
from bot.governance import Elector, Rule
from bot.governance.electorate import in_seats
from bot.governance.feasibility import why_infeasible
from bot.services import admin, announce, audit, routing
from models import Agent, Council, Member
from models.enums import Role


@dataclass(frozen=True)
class SeatChange:
    """What a change did to a seat, for the answer."""

    council: str
    user: str
    function: str
    role: str
    active: bool
    delegate: str | None
    away_until: date | None


async def add(*, actor: str, user: str, function: str, role: str | None, council: str | None) -> SeatChange:
    """Seat a member (or change the function and role of one already seated, or seat one again)."""
    row = await _council(council or await _chaired(actor), user=None)
    await admin.require_change(actor, row.name)
    today = datetime.now(UTC).astimezone(ZoneInfo(row.timezone)).date()
    holding = await Member.filter(
        council=row, delegate_user_id=user, active=True, away_until__gte=today
    ).first()
    if holding is not None and holding.user_id != user:
        raise Conflict(
            f"<@{user}> holds <@{holding.user_id}>'s seat on {row.name} while they are away, and one person "
            f"holds one seat; mark <@{holding.user_id}> back first (`/council members back`)."
        )
    routes = await _rules(row)
    try:
        spec = MemberSpec(user=user, function=function, role=(role or "member").lower())
    except ValidationError as error:
        raise Invalid(f"That seat is not valid: {_first_problem(error)}.") from None
    async with transaction() as conn:
        seat = await Member.filter(council=row, user_id=user).using_db(conn).first()
        before = _state(seat)
        if seat is None:
            seat = await Member.create(
                using_db=conn, council=row, user_id=user, function=spec.function, role=spec.role
            )
            action = "member.added"
        elif before is not None and before == {
            **before,
            "function": spec.function,
            "role": spec.role,
            "active": True,
        }:
            return _change(row, seat)  # seated so already: nothing to record or announce
        else:
            seat.function, seat.role, seat.active = spec.function, Role(spec.role), True
            await seat.save(using_db=conn, update_fields=["function", "role", "active"])
            action = "member.added" if not before or not before["active"] else "member.changed"
        await _check_feasible(conn, row, routes)
        await _record(conn, row, actor, action, seat, before, f"{spec.function}, {spec.role}")
    return _change(row, seat)


async def remove(*, actor: str, user: str, council: str | None) -> SeatChange:
    """Unseat a member; the row is kept (inactive): past votes and frozen electorates name them."""
    row = await _council(council, user=user)
    await admin.require_change(actor, row.name)
    routes = await _rules(row)
    async with transaction() as conn:
        seat = await _seat(conn, row, user)
        before = _state(seat)
        seat.active, seat.away_until, seat.delegate_user_id = False, None, None
        await seat.save(using_db=conn, update_fields=["active", "away_until", "delegate_user_id"])
        await _check_feasible(conn, row, routes)
        await _record(conn, row, actor, "member.removed", seat, before, None)
    return _change(row, seat)


async def away(
    *, actor: str, user: str, until: date, delegate: str, council: str | None, now: datetime | None = None
) -> SeatChange:
    """Mark a member away until a day (inclusive, in the council's timezone); their delegate holds
    their seat meanwhile."""
    row = await _council(council, user=user)
    await admin.require_change(actor, row.name)
    today = (now or datetime.now(UTC)).astimezone(ZoneInfo(row.timezone)).date()
    if until < today:
        raise Invalid(f"`until={until.isoformat()}` is in the past; give the last day they are away.")
    if delegate == user:
        raise Invalid("A member cannot be their own delegate; name someone else with `delegate=@user`.")
    if await Member.filter(council=row, user_id=delegate, active=True).exists():
        raise Conflict(
            f"<@{delegate}> has a seat on {row.name} already, and one person holds one seat; "
            "choose a delegate who is not on the council."
        )
    if (
        await Member.filter(council=row, delegate_user_id=delegate, active=True, away_until__gte=today)
        .exclude(user_id=user)
        .exists()
    ):
        raise Conflict(
            f"<@{delegate}> already holds another away member's seat on {row.name}; choose someone else."
        )
    routes = await _rules(row)
    async with transaction() as conn:
        seat = await _seat(conn, row, user)
        before = _state(seat)
        seat.away_until, seat.delegate_user_id = until, delegate
        await seat.save(using_db=conn, update_fields=["away_until", "delegate_user_id"])
        await _check_feasible(conn, row, routes)
        await _record(conn, row, actor, "member.away", seat, before, f"until {until.isoformat()}", delegate)
    return _change(row, seat)


async def back(*, actor: str, user: str, council: str | None) -> SeatChange:
    """End a member's time away: asks come to them again."""
    row = await _council(council, user=user)
    await admin.require_change(actor, row.name)
    async with transaction() as conn:
        seat = await _seat(conn, row, user)
        if seat.away_until is None:
            raise Conflict(f"<@{user}> is not marked away on {row.name}.")
        before = _state(seat)
        seat.away_until, seat.delegate_user_id = None, None
        await seat.save(using_db=conn, update_fields=["away_until", "delegate_user_id"])
        await _record(conn, row, actor, "member.back", seat, before, None)
    return _change(row, seat)


async def _council(name: str | None, *, user: str | None) -> Council:
    """The council named, or the only one (the only one `user` sits on, when given)."""
    live = Council.filter(retired_at=None)
    if name is not None:
        found = await live.filter(name=name).first() if is_name(name) else None
        if found is None:
            raise NotFound(f"There is no council named `{name[:80]}`. Try `/council members`.")
        return found
    candidates = await (live.filter(members__user_id=user, members__active=True) if user else live).distinct()
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        if user:
            raise NotFound(f"<@{user}> has no seat on any council. See `/council members`.")
        raise NotFound("There is no council yet (see council.yml).")
    names = ", ".join(sorted(c.name for c in candidates))
    raise Invalid(f"Say which council with `council=NAME` (one of: {names}).")


async def _chaired(actor: str) -> str | None:
    """The one council `actor` chairs, when they are not an admin: where their `members add` goes."""
    if await admin.is_admin(actor):
        return None
    chaired = await Council.filter(
        retired_at=None, members__user_id=actor, members__role=Role.CHAIR, members__active=True
    )
    return chaired[0].name if len(chaired) == 1 else None


async def _seat(conn: BaseDBAsyncClient, council: Council, user: str) -> Member:
    seat = await Member.filter(council=council, user_id=user, active=True).using_db(conn).first()
    if seat is None:
        raise NotFound(f"<@{user}> has no seat on {council.name}. See `/council members {council.name}`.")
    return seat


async def _rules(council: Council) -> list[tuple[str, Rule]]:
    """The voting rules of the routes that send escalations to this council (read before a change)."""
    fallback = await routing.defaults()
    routes: list[tuple[str, Rule]] = []
    for policy in await routing.policies():
        if policy.decide is None and (policy.council or fallback.council) == council.name:
            routes.append((f"policy {policy.name}", policy.rule or fallback.rule or Rule()))
    if fallback.council == council.name:
        routes.append(("the default route", fallback.rule or Rule()))
    return routes


async def _check_feasible(conn: BaseDBAsyncClient, council: Council, routes: list[tuple[str, Rule]]) -> None:
    """Refuse a change after which a rule routing to this council could never pass."""
    members = await Member.filter(council=council, active=True).using_db(conn).order_by("id")
    everyone = [Elector(user=m.user_id, function=m.function, role=m.role) for m in members]
    # As escalations opened today would seat them: an away member's seat held by their delegate.
    today = datetime.now(UTC).astimezone(ZoneInfo(council.timezone)).date()
    away = {
        m.user_id: m.delegate_user_id
        for m in members
        if m.delegate_user_id and m.away_until and m.away_until >= today
    }
    electors = in_seats(everyone, away)
    # Any agent may be routed here by a policy: each owner in turn steps aside under `exclude_owner`.
    agents = Agent.filter(Q(council=council) | Q(council=None)).using_db(conn)
    owners = await agents.values_list("owner_user_id", flat=True)
    for where, rule in routes:
        problem = why_infeasible(rule, electors, [str(owner) for owner in owners])
        if problem:
            raise Conflict(f"Not changed: after it, {where} on {council.name} could never pass ({problem}).")


async def _record(
    conn: BaseDBAsyncClient,
    council: Council,
    actor: str,
    action: str,
    seat: Member,
    before: dict[str, Any] | None,
    detail: str | None,
    delegate: str | None = None,
) -> None:
    await audit.record(
        conn,
        actor_type="admin",
        actor_id=actor,
        action=action,
        subject=seat.user_id,
        payload={"council": council.name, "before": before, "after": _state(seat), "via": "slack"},
    )
    await announce.change(
        conn,
        [council.channel_id],
        actor=actor,
        action=action,
        subject=seat.user_id,
        detail=detail,
        delegate=delegate,
    )


def _state(seat: Member | None) -> dict[str, Any] | None:
    if seat is None:
        return None
    return {
        "function": seat.function,
        "role": str(seat.role),
        "active": seat.active,
        "delegate": seat.delegate_user_id,
        "away_until": seat.away_until.isoformat() if seat.away_until else None,
    }


def _change(council: Council, seat: Member) -> SeatChange:
    return SeatChange(
        council.name,
        seat.user_id,
        seat.function,
        str(seat.role),
        seat.active,
        seat.delegate_user_id,
        seat.away_until,
    )


def _first_problem(error: ValidationError) -> str:
    problem = error.errors()[0]
    where = ".".join(str(part) for part in problem["loc"])
    return f"{where}: {problem['msg']}"
