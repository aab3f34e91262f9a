"""manifest.yml asks Slack for the scopes of the Web API methods Council calls and the events it takes."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import yaml
from slack_sdk.web.async_client import AsyncWebClient

ROOT = Path(__file__).resolve().parents[1]
# Each Web API method Council calls, and the bot scopes Slack's documentation says it needs for the
# way Council calls it. A new call fails the test below until its scopes are written here (and asked
# for in manifest.yml): the table cannot check Slack's rules, but it makes every scope answer for a call.
SCOPES_FOR = {
    # Posts to the council channel (chat:write.public: a public one the bot has not joined) and DMs.
    "chat_postMessage": {"chat:write", "chat:write.public"},
    "chat_update": {"chat:write"},
    # The post-once check reads the council channel, public or private, joining a public one first.
    "conversations_history": {"channels:history", "groups:history"},
    "conversations_join": {"channels:join"},
    "conversations_open": {"im:write"},  # a DM with one member, for reminders and alerts
    "users_info": {"users:read"},  # a member's timezone, so reminders and the pulse keep their hours
    # The digest's chart, uploaded into the digest message's thread (getUploadURLExternal and
    # completeUploadExternal under the hood; both need files:write).
    "files_upload_v2": {"files:write"},
    "views_open": set(),
    # A storm's review page: turned in place, and a reason modal pushed on top (no scope either).
    "views_update": set(),
    "views_push": set(),
    "views_publish": set(),
    "auth_test": set(),
    # Socket Mode: called with the app-level token, whose scope (connections:write) is not a bot scope.
    "apps_connections_open": set(),
}
# The bot scope each event subscription needs (Slack's event reference, "Required scopes"). A new
# subscription fails the test below until its scopes are written here; which events are subscribed
# is checked against the listeners in test_manifest_listeners.py.
EVENT_SCOPES = {
    "app_home_opened": set(),
    "app_mention": {"app_mentions:read"},
    "message.channels": {"channels:history"},
    "message.groups": {"groups:history"},
    "message.im": {"im:history"},
    "message.mpim": {"mpim:history"},
}
WEB_API_METHODS = {name for name in vars(AsyncWebClient) if not name.startswith("_")}


def _called_methods() -> set[str]:
    """Every Web API method named as an attribute (`client.chat_update(...)`) in Council's code."""
    called = set()
    for package in ("bot", "handlers"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Attribute) and node.attr in WEB_API_METHODS:
                    called.add(node.attr)
    return called


def test_every_called_method_has_its_scopes_written_down() -> None:
    called = _called_methods()
    assert {"chat_postMessage", "chat_update", "conversations_open", "views_open"} <= called
    assert called - SCOPES_FOR.keys() == set()


def _manifest() -> dict[str, Any]:
    parsed = yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))
    assert isinstance(parsed, dict)
    return parsed


def _subscribed_events(manifest: dict[str, Any]) -> list[str]:
    return list(manifest["settings"].get("event_subscriptions", {}).get("bot_events", []))


def _feature_scopes(manifest: dict[str, Any]) -> set[str]:
    """The scopes the manifest's own features need: `commands` for slash commands and shortcuts."""
    features = manifest["features"]
    return {"commands"} if features.get("slash_commands") or features.get("shortcuts") else set()


def test_every_subscribed_event_has_its_scopes_written_down() -> None:
    assert set(_subscribed_events(_manifest())) - EVENT_SCOPES.keys() == set()


def test_the_manifest_asks_for_exactly_the_scopes_the_calls_and_events_need() -> None:
    manifest = _manifest()
    asked = manifest["oauth_config"]["scopes"]["bot"]
    needed = _feature_scopes(manifest).union(
        *(SCOPES_FOR[method] for method in _called_methods()),
        *(EVENT_SCOPES.get(event, set()) for event in _subscribed_events(manifest)),
    )
    assert len(asked) == len(set(asked))
    assert set(asked) == needed
