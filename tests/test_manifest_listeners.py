"""manifest.yml declares exactly what Council's Bolt listeners handle, and where Slack sends it."""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

import handlers.slack
from bot.app import create_app
from bot.runtime import Runtime
from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = (ROOT / "manifest.yml").read_text(encoding="utf-8")
# Each of Bolt's ways to register a listener, by the part of the manifest that makes Slack send it.
# `interactive` needs interactivity on; so do shortcuts. A listener registered any other way fails
# test_the_log_saw_every_listener.
SURFACE = {
    "command": "command",
    "event": "event",
    "message": "event",
    "shortcut": "shortcut",
    "global_shortcut": "shortcut",
    "message_shortcut": "shortcut",
    "function": "function",
    **dict.fromkeys(
        ["action", "block_action", "attachment_action", "dialog_submission", "dialog_cancellation"],
        "interactive",
    ),
    **dict.fromkeys(["view", "view_submission", "view_closed"], "interactive"),
    **dict.fromkeys(["options", "block_suggestion", "dialog_suggestion"], "interactive"),
}
# The manifest's name for each kind of shortcut, by the registration that names it.
SHORTCUT_TYPE = {"global_shortcut": "global", "message_shortcut": "message"}


@dataclass(frozen=True)
class Registration:
    method: str  # the AsyncApp method called: command, event, action, …
    constraint: Any  # its first argument: the command, the event type, the callback id, …


class ListenerLog(AsyncApp):
    """A real Bolt app that also writes down what each listener is registered for."""

    def __init__(self) -> None:
        super().__init__(client=AsyncWebClient(token="xoxb-test-token"), signing_secret="test-signing-secret")
        self.registered: list[Registration] = []


def _logged(method: str) -> Any:
    bolt = getattr(AsyncApp, method)

    def register(self: ListenerLog, *args: Any, **kwargs: Any) -> Any:
        bound = inspect.signature(bolt).bind(self, *args, **kwargs)
        bound.apply_defaults()
        self.registered.append(Registration(method, list(bound.arguments.values())[1]))
        return bolt(self, *args, **kwargs)

    return register


for _method in SURFACE:
    setattr(ListenerLog, _method, _logged(_method))


@pytest.fixture(scope="module")
def logged() -> ListenerLog:
    """A Bolt app with what Council's own `register` wires onto it."""
    app = ListenerLog()
    settings = Settings(_env_file=None, council_secret_key="k" * 32)
    handlers.slack.register(app, Runtime(settings=settings, server_key=b"k" * 32))
    return app


@pytest.fixture(scope="module")
def listeners(logged: ListenerLog) -> list[Registration]:
    return logged.registered


def _named(registrations: list[Registration], surface: str) -> set[str]:
    """The names (commands, event types, callback ids) registered for one surface, as plain strings."""
    names = set()
    for registration in registrations:
        if SURFACE[registration.method] != surface:
            continue
        if registration.method == "message":
            names.add("message")
            continue
        constraint, key = registration.constraint, "type" if surface == "event" else "callback_id"
        name = constraint.get(key) if isinstance(constraint, dict) else constraint
        assert isinstance(name, str), f"{registration}: name it with a string so the manifest can be checked"
        names.add(name)
    return names


def _manifest(text: str = MANIFEST) -> dict[str, Any]:
    parsed = yaml.safe_load(text)
    assert isinstance(parsed, dict)
    return parsed


def test_the_log_saw_every_listener(logged: ListenerLog) -> None:
    # Bolt keeps its listeners in a private list; the count proves none was registered past the log.
    assert len(logged.registered) == len(logged._async_listeners)


def test_every_listener_is_of_a_kind_the_manifest_is_checked_for(listeners: list[Registration]) -> None:
    assert {"/council"} <= _named(listeners, "command")
    assert {"app_home_opened"} <= _named(listeners, "event")
    # Workflow steps would need the manifest's `functions` and their events: check those when added.
    assert _named(listeners, "function") == set()


def test_the_manifest_declares_exactly_the_slash_commands_handled(listeners: list[Registration]) -> None:
    declared = [command["command"] for command in _manifest()["features"].get("slash_commands", [])]
    assert len(declared) == len(set(declared))
    assert set(declared) == _named(listeners, "command")


def test_the_manifest_subscribes_to_exactly_the_events_handled(listeners: list[Registration]) -> None:
    subscribed = _manifest()["settings"].get("event_subscriptions", {}).get("bot_events", [])
    assert len(subscribed) == len(set(subscribed))
    # One event type can come from several subscriptions: `message` from message.channels, message.im, …
    assert {name.split(".")[0] for name in subscribed} == _named(listeners, "event")


def test_the_manifest_declares_exactly_the_shortcuts_handled(listeners: list[Registration]) -> None:
    declared = {(s["type"], s["callback_id"]) for s in _manifest()["features"].get("shortcuts", [])}
    handled = _named(listeners, "shortcut")
    assert {callback_id for _, callback_id in declared} == handled
    for registration in listeners:
        kind = SHORTCUT_TYPE.get(registration.method)
        if kind is not None:
            assert (kind, registration.constraint) in declared


def test_interactivity_is_on_exactly_when_clicks_or_modals_are_handled(listeners: list[Registration]) -> None:
    interactive = _named(listeners, "interactive") | _named(listeners, "shortcut")
    assert _manifest()["settings"]["interactivity"]["is_enabled"] is bool(interactive)


def test_the_home_tab_is_on_exactly_when_its_event_is_handled(listeners: list[Registration]) -> None:
    home = _manifest()["features"].get("app_home", {}).get("home_tab_enabled", False)
    assert home is ("app_home_opened" in _named(listeners, "event"))


def _request_urls(manifest: dict[str, Any]) -> dict[str, str | None]:
    """Each place the manifest may give Slack a URL, with the URL it gives (None when none)."""
    urls: dict[str, str | None] = {
        f"slash command {c['command']}": c.get("url") for c in manifest["features"].get("slash_commands", [])
    }
    settings = manifest["settings"]
    if settings.get("event_subscriptions", {}).get("bot_events"):
        urls["event_subscriptions"] = settings["event_subscriptions"].get("request_url")
    if settings["interactivity"]["is_enabled"]:
        urls["interactivity"] = settings["interactivity"].get("request_url")
    return urls


def _http_mode(text: str) -> str:
    """Follow the manifest's own steps for HTTP mode: Socket Mode off, the request URLs uncommented."""
    text, switched = re.subn(r"socket_mode_enabled: true", "socket_mode_enabled: false", text)
    assert switched == 1
    return re.sub(r"^(\s*)# ((?:url|request_url): https://\S+)$", r"\1\2", text, flags=re.MULTILINE)


def _slack_routes() -> set[str]:
    """The paths `council serve` takes Slack requests on: served in HTTP mode, not in Socket Mode."""
    settings = Settings(_env_file=None, council_secret_key="k" * 32)

    def routes(socket_mode: bool) -> set[tuple[str, str]]:
        app = create_app(settings, socket_mode=socket_mode)
        return {(route.method, route.resource.canonical) for route in app.router.routes() if route.resource}

    slack_only = routes(socket_mode=False) - routes(socket_mode=True)
    assert {method for method, _ in slack_only} == {"POST"}
    return {path for _, path in slack_only}


def test_in_socket_mode_the_manifest_gives_slack_no_url() -> None:
    manifest = _manifest()
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert set(_request_urls(manifest).values()) == {None}


def test_in_http_mode_every_url_is_the_path_council_serve_takes_slack_on() -> None:
    manifest = _manifest(_http_mode(MANIFEST))
    assert manifest["settings"]["socket_mode_enabled"] is False
    urls = _request_urls(manifest)
    assert urls, "the manifest asks Slack for nothing"
    missing = [place for place, url in urls.items() if url is None]
    assert missing == [], f"no commented HTTP-mode URL for {missing}"
    served = _slack_routes()
    for place, url in urls.items():
        assert url is not None
        parts = urlsplit(url)
        assert (parts.scheme, parts.path) in {("https", path) for path in served}, f"{place}: {url}"
