"""Apply council.yml to the database and export it back; applying twice changes nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from bot import keys
from bot.council_file import AgentSpec, CouncilFile, CouncilSpec, check_complete, parse
from bot.db import transaction
from bot.services import audit
from bot.services.agents import REMOVED_FROM_FILE as REMOVED
from models import Agent, AuditEvent, Council, Member, Policy, Setting
from models.enums import AgentStatus

# The audit event id an apply last saw: changes made from Slack after it are the file's drift.
APPLIED_THROUGH = "config_applied_through"


@dataclass
class ApplyReport:
    """What an apply changed (or, in a dry run, would change), one line each, for the CLI to print.

    Lines start with `+` (added), `~` (changed) or `-` (removed, retired or paused).
    """

    changes: list[str] = field(default_factory=list)
    dry_run: bool = False

    def add(self, line: str) -> None:
        self.changes.append(line)


class _DryRun(Exception):
    """Raised inside the transaction to roll a dry run back."""


async def apply(
    config: CouncilFile,
    *,
    actor: str = "cli",
    dry_run: bool = False,
    allow_empty: bool = False,
    source: str = "council.yml",
    hint: str = "give --allow-empty",
) -> ApplyReport:
    """Make the database match the file: councils, members, agents, policies, admins, defaults.

    An agent the file declared before and no longer lists is paused (its key stops working; it is
    never deleted); a council it no longer lists is retired (it receives no new escalations; open
    ones keep their snapshot). A dry run works out the same lines and rolls everything back.
    """
    if not allow_empty:
        check_complete(config, source=source, hint=hint)
    report = ApplyReport(dry_run=dry_run)
    try:
        async with transaction() as conn:
            await _apply_all(conn, config, report, actor)
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return report


async def _apply_all(conn: BaseDBAsyncClient, config: CouncilFile, report: ApplyReport, actor: str) -> None:
    councils = {spec.name: await _apply_council(conn, spec, report) for spec in config.councils}
    await _retire_councils(conn, set(councils), report)
    for spec in config.agents:
        await _apply_agent(conn, spec, councils, report)
    await _pause_removed_agents(conn, config, report)
    await _apply_policies(conn, config, report)
    await _apply_setting(conn, "admins", list(config.admins), report)
    defaults = config.defaults.model_dump(mode="json", exclude_none=True) if config.defaults else {}
    await _apply_setting(conn, "defaults", defaults, report)
    await _store(conn, "declared_agents", [a.name for a in config.agents])
    if report.changes:
        await audit.record(
            conn,
            actor_type="admin",
            actor_id=actor,
            action="config.applied",
            payload={"changes": report.changes},
        )
    # What was changed from Slack up to here is in the file now, or undone by it (bot.services.drift).
    last = await AuditEvent.all().using_db(conn).order_by("-id").first()
    await _store(conn, APPLIED_THROUGH, last.id if last else 0)


async def apply_text(
    text: str, *, source: str, actor: str = "cli", dry_run: bool = False, allow_empty: bool = False
) -> ApplyReport:
    """Parse and apply council.yml text."""
    return await apply(
        parse(text, source=source), actor=actor, dry_run=dry_run, allow_empty=allow_empty, source=source
    )


def _changed(row: Any, values: dict[str, Any], council_names: dict[int, str] | None = None) -> list[str]:
    """Say each column that differs, down to the key: `timezone UTC → Europe/Berlin`."""
    said = []
    for name, value in values.items():
        current = getattr(row, f"{name}_id" if name == "council" else name)
        wanted = value.id if name == "council" and value is not None else value
        if current != wanted:
            council_names = council_names or {}
            if name == "council":
                current, wanted = council_names.get(current, current), value.name if value else None
            said.extend(_diff(name, current, wanted))
    return said


def _diff(path: str, before: Any, after: Any) -> list[str]:
    """The leaves that differ between two values, as `path old → new`, nested keys joined by dots."""
    if isinstance(before, dict) and isinstance(after, dict):
        lines = []
        for key in {**before, **after}:
            lines.extend(_diff(f"{path}.{key}", before.get(key), after.get(key)))
        return lines
    if _show(before) == _show(after):
        return []
    return [f"{path} {_show(before)} → {_show(after)}"]


def _show(value: Any) -> str:
    if value is None or value is False or value == {} or value == []:
        return "(none)"
    if isinstance(value, dict):
        shown = {k: _show(v) for k, v in value.items()}
        return "{" + ", ".join(f"{k}: {v}" for k, v in shown.items() if v != "(none)") + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)


async def _apply_council(conn: BaseDBAsyncClient, spec: CouncilSpec, report: ApplyReport) -> Council:
    values: dict[str, Any] = {
        "channel_id": spec.channel,
        "timezone": spec.timezone,
        "digest_day": spec.digest.day,
        "digest_time": spec.digest.time,
    }
    council = await Council.filter(name=spec.name).using_db(conn).first()
    if council is None:
        council = await Council.create(using_db=conn, name=spec.name, **values)
        report.add(f"+ council {spec.name} (channel {spec.channel})")
    else:
        if council.retired_at is not None:
            report.add(f"+ council {spec.name}: back in council.yml, receives escalations again")
        changes = _changed(council, values)
        if changes:
            report.add(f"~ council {spec.name}: " + "; ".join(changes))
        if changes or council.retired_at is not None:
            await Council.filter(id=council.id).using_db(conn).update(**values, retired_at=None)
    existing = {m.user_id: m for m in await Member.filter(council=council).using_db(conn)}
    for member in spec.members:
        seat: dict[str, Any] = {
            "function": member.function,
            "role": member.role,
            "active": True,
            "delegate_user_id": member.delegate,
            "away_until": member.away_until,
        }
        row = existing.pop(member.user, None)
        if row is None:
            await Member.create(using_db=conn, council=council, user_id=member.user, **seat)
            report.add(f"+ council {spec.name}: member {member.user} ({member.function})")
        elif changes := _changed(row, seat):
            await Member.filter(id=row.id).using_db(conn).update(**seat)
            report.add(f"~ council {spec.name}: member {member.user}: " + "; ".join(changes))
    for row in existing.values():
        # Kept, not deleted: past votes and frozen electorates still name them.
        if row.active:
            await Member.filter(id=row.id).using_db(conn).update(active=False)
            report.add(f"- council {spec.name}: member {row.user_id} removed (past votes kept)")
    return council


async def _retire_councils(conn: BaseDBAsyncClient, kept: set[str], report: ApplyReport) -> None:
    for council in await Council.filter(retired_at=None).using_db(conn).order_by("id"):
        if council.name not in kept:
            await Council.filter(id=council.id).using_db(conn).update(retired_at=datetime.now(UTC))
            report.add(
                f"- council {council.name}: retired (no new escalations; open ones keep their council)"
            )


async def _apply_agent(
    conn: BaseDBAsyncClient, spec: AgentSpec, councils: dict[str, Council], report: ApplyReport
) -> None:
    values: dict[str, Any] = {
        "owner_user_id": spec.owner,
        "council": councils.get(spec.council) if spec.council else None,
        "limits": spec.mandate().model_dump(mode="json", exclude_none=True),
    }
    agent = await Agent.filter(name=spec.name).using_db(conn).first()
    if agent is None:
        await Agent.create(using_db=conn, name=spec.name, signing_salt=keys.new_salt(), **values)
        where = f", council {spec.council}" if spec.council else ""
        report.add(f"+ agent {spec.name} (owner {spec.owner}{where})")
        return
    if agent.status == AgentStatus.PAUSED and agent.paused_reason == REMOVED:
        values |= {"status": AgentStatus.ACTIVE, "paused_reason": None}
        report.add(f"+ agent {spec.name}: back in council.yml, resumed")
    names = {c.id: c.name for c in await Council.all().using_db(conn)}
    changes = _changed(
        agent, {k: v for k, v in values.items() if k not in ("status", "paused_reason")}, names
    )
    if changes:
        report.add(f"~ agent {spec.name}: " + "; ".join(changes))
    if changes or "status" in values:
        await Agent.filter(id=agent.id).using_db(conn).update(**values)


async def _pause_removed_agents(conn: BaseDBAsyncClient, config: CouncilFile, report: ApplyReport) -> None:
    """Pause the agents the last apply declared that this file no longer lists."""
    row = await Setting.filter(key="declared_agents").using_db(conn).first()
    listed = {a.name for a in config.agents}
    gone = [name for name in (row.value if row else []) if name not in listed]
    for agent in await Agent.filter(name__in=gone).using_db(conn).order_by("id"):
        if agent.status == AgentStatus.PAUSED and agent.paused_reason == REMOVED:
            continue
        await (
            Agent.filter(id=agent.id).using_db(conn).update(status=AgentStatus.PAUSED, paused_reason=REMOVED)
        )
        report.add(f"- agent {agent.name}: paused, {REMOVED} (its key stops working; its history stays)")


async def _apply_policies(conn: BaseDBAsyncClient, config: CouncilFile, report: ApplyReport) -> None:
    current = [(p.name, p.spec) for p in await Policy.all().using_db(conn).order_by("position")]
    wanted = [(p.name, p.model_dump(mode="json", exclude_none=True)) for p in config.policies]
    if current == wanted:
        return
    before, after = dict(current), dict(wanted)
    for name, spec in wanted:
        if name not in before:
            report.add(f"+ policy {name}")
        elif before[name] != spec:
            report.add(f"~ policy {name}: " + _spec_change(before[name], spec))
    for name, _ in current:
        if name not in after:
            report.add(f"- policy {name}")
    order = [n for n, _ in wanted]
    if [n for n, _ in current if n in after] != [n for n in order if n in before]:
        report.add(f"~ policies: order is now {', '.join(order)}")
    await Policy.all().using_db(conn).delete()
    for position, (name, spec) in enumerate(wanted):
        await Policy.create(using_db=conn, name=name, position=position, spec=spec)


def _spec_change(before: dict[str, Any], after: dict[str, Any]) -> str:
    return "; ".join(line.removeprefix(".") for line in _diff("", before, after))


async def _apply_setting(conn: BaseDBAsyncClient, key: str, value: Any, report: ApplyReport) -> None:
    row = await Setting.filter(key=key).using_db(conn).first()
    current: Any = row.value if row else ([] if isinstance(value, list) else {})
    if current == value:
        return
    await _store(conn, key, value)
    if not current:
        report.add(f"+ {key}: " + (", ".join(value) if isinstance(value, list) else _show(value)))
    elif not value:
        report.add(f"- {key}: cleared")
    elif isinstance(value, list):
        added = [v for v in value if v not in current]
        removed = [v for v in current if v not in value]
        said = [f"+{v}" for v in added] + [f"-{v}" for v in removed]
        report.add(f"~ {key}: " + (", ".join(said) if said else "order changed"))
    else:
        report.add(f"~ {key}: " + _spec_change(current, value))


async def _store(conn: BaseDBAsyncClient, key: str, value: Any) -> None:
    updated = await Setting.filter(key=key).using_db(conn).update(value=value)
    if not updated:
        await Setting.create(using_db=conn, key=key, value=value)


async def export() -> dict[str, Any]:
    """Return the configuration as council.yml data, in the file's own shape."""
    councils = []
    for council in await Council.filter(retired_at=None).order_by("id"):
        members = await Member.filter(council=council, active=True).order_by("id")
        councils.append(
            {
                "name": council.name,
                "channel": council.channel_id,
                "timezone": council.timezone,
                "digest": {"day": council.digest_day, "time": council.digest_time},
                "members": [_member(m) for m in members],
            }
        )
    agents = []
    for agent in await Agent.all().order_by("id").select_related("council"):
        if agent.paused_reason == REMOVED:
            continue
        entry: dict[str, Any] = {"name": agent.name, "owner": agent.owner_user_id}
        if agent.council is not None:
            entry["council"] = agent.council.name
        if agent.limits:
            entry["limits"] = agent.limits
        agents.append(entry)
    admins = await Setting.filter(key="admins").first()
    defaults = await Setting.filter(key="defaults").first()
    data: dict[str, Any] = {
        "admins": admins.value if admins else [],
        "councils": councils,
        "agents": agents,
        "policies": [p.spec for p in await Policy.all().order_by("position")],
    }
    if defaults and defaults.value:
        data["defaults"] = defaults.value
    return data


def _member(member: Member) -> dict[str, Any]:
    entry: dict[str, Any] = {"user": member.user_id, "function": member.function}
    if member.role != "member":
        entry["role"] = str(member.role)
    if member.delegate_user_id:
        entry["delegate"] = member.delegate_user_id
    if member.away_until:
        entry["away_until"] = member.away_until.isoformat()
    return entry
