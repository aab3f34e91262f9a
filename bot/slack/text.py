"""Make untrusted text safe for Slack: nothing an agent writes may ping, link or break a block."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import quote

from bot.governance import money

__all__ = [
    "channel",
    "clip",
    "escape",
    "escape_keeping_mentions",
    "link",
    "mention",
    "money",
    "safe",
    "slack_date",
    "utc",
]
_ESCAPED_MENTION = re.compile(r"&lt;@([UW][A-Z0-9]{2,20})&gt;")


def escape(text: str) -> str:
    """Escape Slack's control characters so `<!channel>` or `<http://x|y>` show literally."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_keeping_mentions(text: str) -> str:
    """Escape, then let a person named by id (`<@U123>`) be a mention again, for Council's own
    refusals that say who can. Never for an agent's text: a mention notifies the person."""
    return _ESCAPED_MENTION.sub(r"<@\1>", escape(text))


def clip(text: str, limit: int) -> str:
    """Cut text to at most `limit` characters, marking the cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def safe(text: str, limit: int) -> str:
    """Escape, then cut without splitting an entity (`&amp;`) in two."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    cut = escaped[: limit - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + "…"


def link(url: str, title: str) -> str:
    """A Slack link whose target and label cannot close or forge the link syntax."""
    target = quote(url, safe=":/?#[]@!$&'()*+,;=%~-._")
    return f"<{target.replace('&', '&amp;')}|{safe(title, 200).replace('|', '¦')}>"


def utc(moment: datetime | None, *, none: str = "no deadline") -> str:
    """Write a time the same way in every message and answer: `2026-12-02 09:00 UTC`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else none


def slack_date(moment: datetime) -> str:
    """A time each viewer reads in their own timezone, with the UTC text as the fallback."""
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{utc(moment)}>"


def channel(channel_id: str | None) -> str:
    """Point at a channel by id (ids come from council.yml, never from agents)."""
    if not channel_id:
        return "no channel yet"
    return f"<#{channel_id}>" if channel_id[:1] in "CG" and channel_id.isalnum() else escape(channel_id)


def mention(user: str) -> str:
    """Mention a Slack user id (ids come from council.yml or Slack itself, never from agents)."""
    return f"<@{user}>" if user[:1] in "UW" and user.isalnum() else escape(user)
