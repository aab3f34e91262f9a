"""Agents: create, authenticate, rotate keys, pause and resume (the kill switch)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError

from bot import keys
from bot.api_out import AgentOut
from bot.council_file import is_name
from bot.db import transaction
from bot.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from bot.services import announce, audit
from models import Agent, ApiKey, Council, Setting
from models.enums import AgentStatus

# The pause reason council.yml gives an agent it no longer lists (bot.services.config sets it).
REMOVED_FROM_FILE = "removed from council.yml"
# How long a rotated agent's old API key and signing secret keep working (`--now`: not at all).
ROTATION_GRACE = timedelta(hours=24)


@dataclass(frozen=True)
class Credentials:
    """What an agent needs, shown once: its API key and callback signing secret."""

    name: str
    api_key: str
    signing_secret: str
    # After a rotation: until when the old key and secret still work (the moment itself with --now).
    old_valid_until: datetime | None = None


async def create(
    *, name: str, owner: str, council: str | None, server_key: bytes, actor: str = "cli", via: str = "cli"
) -> Credentials:
    """Create an agent (or give keys to one declared in council.yml that has none yet)."""
    if not is_name(name):
        shown = name[:80].replace("`", "'")
        rule = "lowercase letters, digits, '-' and '_', up to 80"
        raise Invalid(f"`{shown}` is not a valid agent name ({rule}), as council.yml requires")
    council_row = await _council(council)
    await _agrees_with_file(name, owner, council)
    async with transaction() as conn:
        agent = await Agent.filter(name=name).using_db(conn).first()
        if agent is not None and await ApiKey.filter(agent=agent).using_db(conn).exists():
            raise Conflict(f"agent {name!r} already exists; use `council agent rotate {name}`")
        if agent is None:
            try:
                agent = await Agent.create(
                    using_db=conn,
                    name=name,
                    owner_user_id=owner,
                    council=council_row,
                    signing_salt=keys.new_salt(),
                )
            except IntegrityError:
                raise Conflict(f"agent {name!r} already exists") from None
        else:
            agent.owner_user_id = owner
            if council_row is not None:
                agent.council_id = council_row.id
            await agent.save(using_db=conn, update_fields=["owner_user_id", "council_id"])
        api_key = await _issue_key(conn, agent)
        await audit.record(
            conn,
            actor_type="admin",
            actor_id=actor,
            action="agent.created",
            subject=name,
            payload={"owner": owner, "council": council, "via": via},
        )
        if via == "slack":
            await announce.change(
                conn,
                await announce.agent_channels(conn, agent),
                actor=actor,
                action="agent.created",
                subject=name,
            )
    return Credentials(name, api_key, keys.signing_secret(server_key, agent.signing_salt))


async def rotate(
    *, name: str, server_key: bytes, actor: str = "cli", grace: timedelta = ROTATION_GRACE, via: str = "cli"
) -> Credentials:
    """Issue a new key and signing secret; the old ones keep working for `grace` (0: revoked at once).

    During the grace period the old key authenticates and callbacks carry a signature by each secret,
    so an agent can switch to the new credentials without missing a request or a callback.
    """
    agent = await get(name)
    now = datetime.now(UTC)
    until = now + grace
    async with transaction() as conn:
        # A key still in an earlier rotation's grace stops now: only the last secret before this one is
        # kept for callbacks, so only the last key before this one keeps working.
        in_grace = ApiKey.filter(agent=agent, revoked_at__gt=now)
        await in_grace.using_db(conn).update(revoked_at=now)
        await ApiKey.filter(agent=agent, revoked_at=None).using_db(conn).update(revoked_at=until)
        before = agent.signing_salt
        agent.signing_salt = keys.new_salt()
        if grace > timedelta(0):
            agent.previous_signing_salt, agent.previous_salt_until = before, until
        else:
            agent.previous_signing_salt, agent.previous_salt_until = None, None
        await agent.save(
            using_db=conn, update_fields=["signing_salt", "previous_signing_salt", "previous_salt_until"]
        )
        api_key = await _issue_key(conn, agent)
        await audit.record(
            conn,
            actor_type="admin",
            actor_id=actor,
            action="agent.rotated",
            subject=name,
            payload={"old_credentials_valid_until": until.isoformat(), "via": via},
        )
        if via == "slack":
            when = (
                "the old key works until " + until.strftime("%Y-%m-%d %H:%M UTC")
                if grace
                else "old key revoked"
            )
            await announce.change(
                conn,
                await announce.agent_channels(conn, agent),
                actor=actor,
                action="agent.rotated",
                subject=name,
                detail=when,
            )
    return Credentials(name, api_key, keys.signing_secret(server_key, agent.signing_salt), until)


async def set_status(
    *, name: str, status: AgentStatus, reason: str | None, actor: str, via: str = "cli"
) -> Agent:
    """Pause or resume an agent; a paused agent's requests are refused."""
    agent = await get(name)
    before = {"status": str(agent.status), "reason": agent.paused_reason}
    kept_reason = reason if status == AgentStatus.PAUSED else None
    if agent.status == status and agent.paused_reason == kept_reason:
        return agent  # as it was asked to be already: nothing to record or announce
    async with transaction() as conn:
        agent.status = status
        agent.paused_reason = reason if status == AgentStatus.PAUSED else None
        await agent.save(using_db=conn, update_fields=["status", "paused_reason"])
        await audit.record(
            conn,
            actor_type="admin",
            actor_id=actor,
            action=f"agent.{status}",
            subject=name,
            payload={
                "reason": reason,
                "before": before,
                "after": {"status": str(status), "reason": agent.paused_reason},
                "via": via,
            },
        )
        if via == "slack":
            channels = await announce.agent_channels(conn, agent)
            await announce.change(
                conn, channels, actor=actor, action=f"agent.{status}", subject=name, detail=reason
            )
    return agent


async def pause(*, name: str, reason: str | None, actor: str, via: str = "cli") -> Agent:
    """Stop an agent (the kill switch): its requests are refused until it is resumed."""
    return await set_status(name=name, status=AgentStatus.PAUSED, reason=reason, actor=actor, via=via)


async def resume(*, name: str, actor: str, via: str = "cli") -> Agent:
    """Let a paused agent escalate again; one removed from council.yml comes back only through the file."""
    agent = await get(name)
    if agent.status == AgentStatus.PAUSED and agent.paused_reason == REMOVED_FROM_FILE:
        raise Conflict(
            f"agent {name} was removed from council.yml; add it back to the file and apply it to resume it",
            code="removed_from_config",
        )
    return await set_status(name=name, status=AgentStatus.ACTIVE, reason=None, actor=actor, via=via)


async def get(name: str) -> Agent:
    """Return the agent with this name."""
    agent = await Agent.filter(name=name).first() if is_name(name) else None
    if agent is None:
        raise NotFound(f"no agent named {name!r}")
    return agent


async def authenticate(authorization: str | None) -> Agent:
    """Return the agent whose live API key is in an `Authorization: Bearer …` header."""
    if not authorization:
        raise Unauthorized("missing Authorization header; send `Authorization: Bearer <api key>`")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Authorization must be `Bearer <api key>`")
    key = await ApiKey.filter(key_hash=keys.hash_api_key(token.strip())).select_related("agent").first()
    if key is None:
        raise Unauthorized("unknown API key")
    if key.revoked_at is not None and key.revoked_at <= datetime.now(UTC):
        raise Unauthorized("this API key has been revoked", code="key_revoked")
    return key.agent


async def describe(agent: Agent) -> AgentOut:
    """Describe the agent to itself: its owner, council, status and limits."""
    council = await Council.filter(id=agent.council_id).first() if agent.council_id else None
    return AgentOut(
        name=agent.name,
        owner=agent.owner_user_id,
        council=council.name if council else None,
        status=agent.status,
        paused_reason=agent.paused_reason,
        limits=agent.limits,
    )


def require_active(agent: Agent) -> None:
    """Refuse a paused agent's request (the kill switch)."""
    if agent.status == AgentStatus.PAUSED:
        reason = f": {agent.paused_reason}" if agent.paused_reason else ""
        raise Forbidden(f"agent {agent.name} is paused{reason}", code="agent_paused")


async def _council(name: str | None) -> Council | None:
    if name is None:
        return None
    council = await Council.filter(name=name, retired_at=None).first()
    if council is None:
        raise NotFound(f"no council named {name!r}; apply a council.yml that defines it first")
    return council


async def _agrees_with_file(name: str, owner: str, council: str | None) -> None:
    """Refuse to give an agent council.yml declares another owner or council: the file decides."""
    declared = await Setting.filter(key="declared_agents").first()
    if declared is None or name not in declared.value:
        return
    agent = await Agent.filter(name=name).select_related("council").first()
    if agent is None:
        return
    if agent.owner_user_id != owner:
        raise Conflict(
            f"council.yml declares agent {name} with owner {agent.owner_user_id}, not {owner}; "
            "change the owner in council.yml and apply it",
            code="owner_mismatch",
        )
    declared_council = agent.council.name if agent.council else None
    if council is not None and council != declared_council:
        raise Conflict(
            f"council.yml declares agent {name} with council {declared_council or '(none)'}, not {council}; "
            "change it in council.yml and apply it",
            code="council_mismatch",
        )


async def _issue_key(conn: BaseDBAsyncClient, agent: Agent) -> str:
    api_key = keys.new_api_key()
    await ApiKey.create(using_db=conn, agent=agent, prefix=api_key[:10], key_hash=keys.hash_api_key(api_key))
    return api_key


async def listing() -> list[dict[str, str | None]]:
    """Return every agent with its owner, council and status."""
    rows = await Agent.all().order_by("name").select_related("council")
    return [
        {
            "name": a.name,
            "owner": a.owner_user_id,
            "council": a.council.name if a.council else None,
            "status": a.status,
            "paused_reason": a.paused_reason,
        }
        for a in rows
    ]
