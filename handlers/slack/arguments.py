"""Read a /council command's words: positional words, `key=value` options, and Slack's mentions.

Slack sends a mention typed in a slash command as `<@U123|ana>` (with "Escape channels, users, and
links" on, as manifest.yml asks) or, from some clients, as `@ana`; only the first names a user for
certain, so options that take a person accept the escaped form or a bare user id (`U123`).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import date

from bot.errors import Invalid

_MENTION = re.compile(r"<@([UW][A-Z0-9]{2,20})(?:\|[^>]*)?>")
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")
CURLY = str.maketrans({"\u201c": '"', "\u201d": '"'})
_KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")


@dataclass(frozen=True)
class Words:
    """A command's words after its subcommand: positional ones in order, options by key."""

    positional: list[str] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)

    def allow(self, usage: str, *, positional: int, options: tuple[str, ...] = ()) -> None:
        """Refuse other options, or more or fewer positional words, with the subcommand's usage."""
        unknown = sorted(set(self.options) - set(options))
        if unknown:
            known = ", ".join(f"`{key}=`" for key in options) or "none"
            raise Invalid(f"`{unknown[0]}=` is not an option here (options: {known}). {usage}")
        if len(self.positional) != positional:
            raise Invalid(usage)

    def option(self, key: str) -> str | None:
        return self.options.get(key)


def split(text: str) -> list[str]:
    """Split on spaces; double quotes keep spaces together (`reason="runaway refunds"`).

    Slack clients may turn `"` into curly quotes, which count the same. Apostrophes are letters
    (`it's overspending`), so only a double quote left open is refused. Escaped mentions
    (`<@U123|ana>`) stay as they are; `&amp;`, `&lt;`, `&gt;` become the characters typed.
    """
    found: list[str] = []
    current: list[str] = []
    quoted = started = False
    for char in text.translate(CURLY):
        if char == '"':
            quoted, started = not quoted, True
        elif char.isspace() and not quoted:
            if started:
                found.append("".join(current))
            current, started = [], False
        else:
            current.append(char)
            started = True
    if quoted:
        raise Invalid('I could not read that command: a `"` is not closed. Try `/council help`.')
    if started:
        found.append("".join(current))
    # Slack sends the text's own & < > as entities; a reason reads as typed (and is escaped when shown).
    return [_unescape(word) for word in found]


def _unescape(word: str) -> str:
    return word.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def words(items: list[str]) -> Words:
    """Sort words into positional ones and `key=value` options; a key given twice is refused."""
    positional: list[str] = []
    options: dict[str, str] = {}
    for item in items:
        key, equals, value = item.partition("=")
        if not equals or not _KEY.fullmatch(key.lower()):
            positional.append(item)
            continue
        key = key.lower()
        if key in options:
            raise Invalid(f"`{key}=` is given twice; give it once.")
        options[key] = value
    return Words(positional, options)


def user(text: str, what: str | None = None) -> str:
    """A Slack user id from `<@U123|ana>`, `<@U123>` or `U123`; anything else is refused."""
    found = _MENTION.fullmatch(text.strip())
    if found:
        return found[1]
    if _USER_ID.fullmatch(text.strip()):
        return text.strip()
    shown = text.strip()[:40].replace("`", "'")
    raise Invalid(
        f"`{shown}`{f' (in `{what}`)' if what else ''} is not a Slack user; mention them: type @ and pick "
        "the person from the list."
    )


def day(text: str, what: str) -> date:
    """A date written YYYY-MM-DD."""
    try:
        return date.fromisoformat(text) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else _bad_day(text, what)
    except ValueError:
        return _bad_day(text, what)


def _bad_day(text: str, what: str) -> date:
    shown = text[:20].replace("`", "'")
    raise Invalid(f"`{what}={shown}` is not a date; write it YYYY-MM-DD, for example `{what}=2026-12-24`.")


def nearest(word: str, choices: list[str]) -> str | None:
    """The choice a mistyped word most likely meant (`stauts` → `status`), if any is close."""
    found = difflib.get_close_matches(word.lower(), choices, n=1, cutoff=0.6)
    return found[0] if found else None
