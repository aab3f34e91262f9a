"""Render a message's Block Kit to the plain text a person would read."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

# <@U123>, <#C123|name>, <!here>, <https://x|label>, <https://x>
_ANGLE = re.compile(r"<([^<>]+)>")


def rendered_text(message: Any, *, users: Mapping[str, Mapping[str, Any]] | None = None) -> str:
    """Return `message`'s blocks as text, one line per visible line; its `text` if no blocks."""
    blocks = _get(message, "blocks") or []
    if not blocks:
        return mrkdwn_to_text(_get(message, "text") or "", users=users)
    lines: list[str] = []
    for block in blocks:
        lines.extend(_render_block(block, users))
    return "\n".join(line for line in lines if line != "")


def mrkdwn_to_text(text: str, *, users: Mapping[str, Mapping[str, Any]] | None = None) -> str:
    """Resolve Slack's <...> mentions and links and its &amp; escapes as the client shows them."""

    def replace(match: re.Match[str]) -> str:
        target, _, label = match.group(1).partition("|")
        if target.startswith("@"):
            user = (users or {}).get(target[1:], {})
            return "@" + str(user.get("real_name") or label or target[1:])
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!"):
            return label or "@" + target[1:].split("^")[0]
        return label or target

    return html.unescape(_ANGLE.sub(replace, text))


def _get(message: Any, key: str) -> Any:
    if isinstance(message, Mapping):
        return message.get(key)
    return getattr(message, key, None)


def _text(obj: Any, users: Mapping[str, Mapping[str, Any]] | None) -> str:
    if not isinstance(obj, Mapping):
        return ""
    text = str(obj.get("text", ""))
    if obj.get("type") == "mrkdwn":
        return mrkdwn_to_text(text, users=users)
    return text


def _render_block(block: Mapping[str, Any], users: Any) -> list[str]:
    kind = block.get("type")
    if kind in ("header", "section"):
        lines = [_text(block.get("text"), users)]
        lines += [_text(f, users) for f in block.get("fields") or []]
        accessory = block.get("accessory")
        if accessory:
            lines.append(_render_element(accessory, users))
        return lines
    if kind == "context":
        parts = [
            _text(e, users) if e.get("type") != "image" else f"[{e.get('alt_text', 'image')}]"
            for e in block.get("elements") or []
        ]
        return [" ".join(p for p in parts if p)]
    if kind == "actions":
        return [" ".join(_render_element(e, users) for e in block.get("elements") or [])]
    if kind == "divider":
        return ["---"]
    if kind == "input":
        return [_text(block.get("label"), users) + ":"]
    if kind == "image":
        return [f"[image: {block.get('alt_text', '')}]"]
    if kind == "markdown":
        return [str(block.get("text", ""))]
    if kind == "rich_text":
        return ["".join(_rich_text(e, users) for e in block.get("elements") or [])]
    return []


def _render_element(element: Mapping[str, Any], users: Any) -> str:
    if element.get("type") == "image":
        return f"[image: {element.get('alt_text', '')}]"
    label = _text(element.get("text"), users) or _text(element.get("placeholder"), users)
    return f"[{label or element.get('type', 'element')}]"


def _rich_text(element: Mapping[str, Any], users: Any) -> str:
    kind = element.get("type")
    if kind == "text":
        return str(element.get("text", ""))
    if kind == "link":
        return str(element.get("text") or element.get("url", ""))
    if kind == "user":
        user = (users or {}).get(element.get("user_id", ""), {})
        return "@" + str(user.get("real_name") or element.get("user_id", ""))
    if kind == "emoji":
        return f":{element.get('name', '')}:"
    inner = "".join(_rich_text(e, users) for e in element.get("elements") or [])
    return inner + ("\n" if kind in ("rich_text_section", "rich_text_list") else "")
