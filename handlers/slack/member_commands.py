"""`/council members …`: who sits on each council; add, remove, away with a delegate, back."""

from __future__ import annotations

from bot.services import admin, membership
from bot.slack import admin_changes, admin_views
from handlers.slack.arguments import Words, day, nearest, user

USAGE = {
    "add": "Use `/council members add @user function=FUNCTION [role=chair] [council=NAME]`.",
    "remove": "Use `/council members remove @user [council=NAME]`.",
    "away": "Use `/council members away @user until=YYYY-MM-DD delegate=@user [council=NAME]`.",
    "back": "Use `/council members back @user [council=NAME]`.",
}


async def members(words: Words, actor: str) -> str:
    rest = words.positional
    verb = rest[0].lower() if rest else ""
    if verb in USAGE:
        return await VERBS[verb](Words(rest[1:], words.options), actor)
    if len(rest) > 1 or words.options:
        meant = nearest(verb, list(USAGE))
        guess = f" Did you mean `members {meant}`?" if meant else ""
        return f"{admin_views.MEMBERS_USAGE}{guess}"
    return admin_views.members(await admin.councils(rest[0] if rest else None))


async def _add(words: Words, actor: str) -> str:
    words.allow(USAGE["add"], positional=1, options=("function", "role", "council"))
    function = words.option("function")
    if not function:
        return USAGE["add"]
    seat = await membership.add(
        actor=actor,
        user=user(words.positional[0]),
        function=function,
        role=words.option("role"),
        council=words.option("council"),
    )
    return admin_changes.seat_changed("Seated", seat)


async def _remove(words: Words, actor: str) -> str:
    words.allow(USAGE["remove"], positional=1, options=("council",))
    seat = await membership.remove(
        actor=actor, user=user(words.positional[0]), council=words.option("council")
    )
    return admin_changes.seat_changed("Removed", seat)


async def _away(words: Words, actor: str) -> str:
    words.allow(USAGE["away"], positional=1, options=("until", "delegate", "council"))
    until, delegate = words.option("until"), words.option("delegate")
    if not until or not delegate:
        return USAGE["away"]
    seat = await membership.away(
        actor=actor,
        user=user(words.positional[0]),
        until=day(until, "until"),
        delegate=user(delegate, "delegate="),
        council=words.option("council"),
    )
    return admin_changes.seat_changed("Away", seat)


async def _back(words: Words, actor: str) -> str:
    words.allow(USAGE["back"], positional=1, options=("council",))
    seat = await membership.back(actor=actor, user=user(words.positional[0]), council=words.option("council"))
    return admin_changes.seat_changed("Back", seat)


VERBS = {"add": _add, "remove": _remove, "away": _away, "back": _back}
