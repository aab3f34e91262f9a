"""Apply council.yml to the database and export it back; applying twice changes nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from bot import keys
from bot.council_file import CouncilFile, CouncilSpec, parse
from bot.db import transaction
from bot.services import audit
from models import Agent, Council, Member, Policy, Setting


@dataclass
class ApplyReport:
    """What an apply changed, in words, for the CLI to print."""

    changes: list[str] = field(default_factory=list)


async def apply(config: CouncilFile, *, actor: str = "cli") -> ApplyReport:
    """Make the database match the file: councils, members, agents, policies, admins, defaults."""
    report = ApplyReport()
    async with transaction() as conn:
        councils = {spec.name: await _apply_council(conn, spec, report) for spec in config.councils}
        for spec in config.agents:
            agent = await Agent.filter(name=spec.name).using_db(conn).first()
            values = {
                "owner_user_id": spec.owner,
                "council": councils.get(spec.council) if spec.council else None,
                "limits": spec.limits.model_dump(mode="json", exclude_none=True),
            }
            if agent is None:
                await Agent.create(using_db=conn, name=spec.name, signing_salt=keys.new_salt(), **values)
                report.changes.append(f"agent {spec.name}: added")
            elif _differs(agent, values):
                await Agent.filter(id=agent.id).using_db(conn).update(**values)
                report.changes.append(f"agent {spec.name}: updated")
        await _apply_policies(conn, config, report)
        await _apply_setting(conn, "admins", list(config.admins), report)
        defaults = config.defaults.model_dump(mode="json", exclude_none=True) if config.defaults else {}
        await _apply_setting(conn, "defaults", defaults, report)
        if report.changes:
            await audit.record(
                conn,
                actor_type="admin",
                actor_id=actor,
                action="config.applied",
                payload={"changes": report.changes},
            )
    return report


async def apply_text(text: str, *, source: str, actor: str = "cli") -> ApplyReport:
    """Parse and apply council.yml text."""
    return await apply(parse(text, source=source), actor=actor)


def _differs(row: Any, values: dict[str, Any]) -> bool:
    for name, value in values.items():
        current = getattr(row, f"{name}_id" if name == "council" else name)
        wanted = value.id if name == "council" and value is not None else value
        if current != wanted:
            return True
    return False


async def _apply_council(conn: BaseDBAsyncClient, spec: CouncilSpec, report: ApplyReport) -> Council:
    values = {
        "channel_id": spec.channel,
        "timezone": spec.timezone,
        "digest_day": spec.digest.day,
        "digest_time": spec.digest.time,
    }
    council = await Council.filter(name=spec.name).using_db(conn).first()
    if council is None:
        council = await Council.create(using_db=conn, name=spec.name, **values)
        report.changes.append(f"council {spec.name}: added")
    elif _differs(council, values):
        await Council.filter(id=council.id).using_db(conn).update(**values)
        report.changes.append(f"council {spec.name}: updated")
    existing = {m.user_id: m for m in await Member.filter(council=council).using_db(conn)}
    for member in spec.members:
        seat: dict[str, Any] = {
            "function": member.function,
            "role": member.role,
            "active": True,
            "delegate_user_id": member.delegate,
        }
        row = existing.pop(member.user, None)
        if row is None:
            await Member.create(using_db=conn, council=council, user_id=member.user, **seat)
            report.changes.append(f"council {spec.name}: member {member.user} added")
        elif _differs(row, seat):
            await Member.filter(id=row.id).using_db(conn).update(**seat)
            report.changes.append(f"council {spec.name}: member {member.user} updated")
    for row in existing.values():
        # Kept, not deleted: past votes and frozen electorates still name them.
        if row.active:
            await Member.filter(id=row.id).using_db(conn).update(active=False)
            report.changes.append(f"council {spec.name}: member {row.user_id} removed")
    return council


async def _apply_policies(conn: BaseDBAsyncClient, config: CouncilFile, report: ApplyReport) -> None:
    current = [(p.name, p.spec) for p in await Policy.all().using_db(conn).order_by("position")]
    wanted = [(p.name, p.model_dump(mode="json", exclude_none=True)) for p in config.policies]
    if current == wanted:
        return
    await Policy.all().using_db(conn).delete()
    for position, (name, spec) in enumerate(wanted):
        await Policy.create(using_db=conn, name=name, position=position, spec=spec)
    report.changes.append(f"policies: {len(wanted)} in order ({', '.join(n for n, _ in wanted)})")


async def _apply_setting(conn: BaseDBAsyncClient, key: str, value: Any, report: ApplyReport) -> None:
    row = await Setting.filter(key=key).using_db(conn).first()
    if row is None:
        if value:
            await Setting.create(using_db=conn, key=key, value=value)
            report.changes.append(f"{key}: set")
    elif row.value != value:
        await Setting.filter(key=key).using_db(conn).update(value=value)
        report.changes.append(f"{key}: updated")


async def export() -> dict[str, Any]:
    """Return the configuration as council.yml data, in the file's own shape."""
    councils = []
    for council in await Council.all().order_by("id"):
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
    return entry
