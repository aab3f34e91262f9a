"""Make untrusted text safe for Slack: nothing an agent writes may ping, link or break a block."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import quote


def escape(text: str) -> str:
    """Escape Slack's control characters so `<!channel>` or `<http://x|y>` show literally."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


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


def money(amount: Decimal | None, currency: str | None) -> str:
    """Show an amount as people read it: `12,500.00 USD`."""
    if amount is None:
        return "—"
    text = f"{amount:,.2f}"
    return f"{text} {currency}" if currency else text


def mention(user: str) -> str:
    """Mention a Slack user id (ids come from council.yml or Slack itself, never from agents)."""
    return f"<@{user}>" if user[:1] in "UW" and user.isalnum() else escape(user)
