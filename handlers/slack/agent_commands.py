"""`/council agents` and `/council agent …`: list agents, create them, rotate keys, pause, limits."""

from __future__ import annotations

from bot.errors import Invalid
from bot.runtime import Runtime
from bot.services import admin, agent_admin
from bot.slack import admin_changes, admin_views
from handlers.slack.arguments import Words, nearest, user

USAGE = {
    "list": "Use `/council agent list`.",
    "create": "Use `/council agent create NAME owner=@user [council=NAME]`.",
    "rotate": "Use `/council agent rotate NAME [now]` (`now` revokes the old key at once).",
    "pause": 'Use `/council agent pause NAME [reason]` (or `reason="…"`).',
    "resume": "Use `/council agent resume NAME`.",
    "limits": "Use `/council agent limits NAME max_amount=5000 auto_budget_24h=20000 rate_per_minute=60` "
    "(`none` removes a limit).",
}


async def listing(words: Words, actor: str) -> str:
    words.allow("Use `/council agents`.", positional=0)
    return admin_views.agents(await admin.agents())


async def agent(words: Words, actor: str, rt: Runtime | None) -> str:
    rest = words.positional
    verb = rest[0].lower() if rest else ""
    given = Words(rest[1:], words.options)
    if verb == "list":
        given.allow(USAGE["list"], positional=0)
        return admin_views.agents(await admin.agents())
    if verb == "create":
        given.allow(USAGE["create"], positional=1, options=("owner", "council"))
        owner = given.option("owner")
        if not owner:
            return USAGE["create"]
        creds = await agent_admin.create(
            actor=actor,
            name=given.positional[0],
            owner=user(owner, "owner="),
            council=given.option("council"),
            server_key=_server_key(rt),
        )
        return admin_changes.credentials(creds, created=True)
    if verb == "rotate":
        if len(given.positional) == 2 and given.positional[1].lower() in ("now", "--now"):
            given = Words(given.positional[:1], given.options)
            at_once = True
        else:
            at_once = False
        given.allow(USAGE["rotate"], positional=1)
        creds = await agent_admin.rotate(
            actor=actor, name=given.positional[0], server_key=_server_key(rt), now=at_once
        )
        return admin_changes.credentials(creds, created=False)
    if verb == "pause":
        if not given.positional:
            return USAGE["pause"]
        given.allow(USAGE["pause"], positional=len(given.positional), options=("reason",))
        if given.option("reason") is not None and len(given.positional) > 1:
            return 'Give the reason once: `reason="…"` or the words after the name, not both.'
        reason = given.option("reason") or " ".join(given.positional[1:]) or None
        changed = await agent_admin.pause(actor=actor, name=given.positional[0], reason=reason)
        return admin_views.agent_status(changed.name, changed.status)
    if verb == "resume":
        given.allow(USAGE["resume"], positional=1)
        changed = await agent_admin.resume(actor=actor, name=given.positional[0])
        return admin_views.agent_status(changed.name, changed.status)
    if verb == "limits":
        given.allow(USAGE["limits"], positional=1, options=agent_admin.LIMITS)
        limits = await agent_admin.set_limits(actor=actor, name=given.positional[0], changes=given.options)
        return admin_changes.limits_set(given.positional[0], limits)
    meant = nearest(verb, list(USAGE)) if verb else None
    guess = f" Did you mean `agent {meant}`?" if meant else ""
    return admin_views.AGENT_USAGE + guess


def _server_key(rt: Runtime | None) -> bytes:
    if rt is None:
        raise Invalid("Keys cannot be issued here; use `council agent create` on the server.")
    return rt.server_key
