"""The fake's views.open, views.push, views.update and views.publish methods."""

from __future__ import annotations

import secrets
from typing import Any

from tests.fakeslack.blockkit import invalid_view, validate_view
from tests.fakeslack.records import SlackError, ViewRecord
from tests.fakeslack.workspace import Workspace

Args = dict[str, Any]
APP_ID = "A0COUNCIL"


def open_view(ws: Workspace, args: Args) -> Args:
    """views.open: show a modal, exchanging a fresh trigger id for it."""
    return _new_modal(ws, args, "open")


def push_view(ws: Workspace, args: Args) -> Args:
    """views.push: put a modal on top of the one a person has open (from a click inside it)."""
    return _new_modal(ws, args, "push")


def _new_modal(ws: Workspace, args: Args, action: str) -> Args:
    trigger_id = args.get("trigger_id") or args.get("interactivity_pointer")
    if not trigger_id:
        raise _missing("trigger_id")
    view = _view_arg(args)
    errors = validate_view(view, surface="modal")
    if errors:
        raise invalid_view(errors)
    user = ws.exchange_trigger(trigger_id) or ""
    stored = _stored(ws, view, view_id=ws.next_id("V"))
    ws.store_view(stored, user)
    ws.views.append(ViewRecord(action, stored["id"], user, stored))
    return {"view": stored}


def update_view(ws: Workspace, args: Args) -> Args:
    """views.update: replace an open view, refusing a stale `hash`."""
    if not args.get("view_id") and not args.get("external_id"):
        raise _missing("view_id")
    current = ws.find_view(view_id=args.get("view_id"), external_id=args.get("external_id"))
    view = _view_arg(args)
    if args.get("hash") and args["hash"] != current["hash"]:
        raise SlackError("hash_conflict")
    errors = validate_view(view, surface=current["type"])
    if errors:
        raise invalid_view(errors)
    user = ws.view_user(current["id"])
    stored = _stored(ws, view, view_id=current["id"])
    stored["previous_view_id"] = current["previous_view_id"]
    ws.store_view(stored, user)
    ws.views.append(ViewRecord("update", stored["id"], user, stored))
    return {"view": stored}


def publish_view(ws: Workspace, args: Args) -> Args:
    """views.publish: set a user's App Home tab."""
    user = args.get("user_id")
    if not isinstance(user, str) or not user:
        raise _missing("user_id")
    view = _view_arg(args)
    errors = validate_view(view, surface="home")
    if errors:
        raise invalid_view(errors)
    current = ws.home(user)
    if current and args.get("hash") and args["hash"] != current["hash"]:
        raise SlackError("hash_conflict")
    stored = _stored(ws, view, view_id=current["id"] if current else ws.next_id("V"))
    ws.store_view(stored, user)
    ws.views.append(ViewRecord("publish", stored["id"], user, stored))
    return {"view": stored}


def _view_arg(args: Args) -> Any:
    view = args.get("view")
    if view is None:
        raise _missing("view")
    return view


def _missing(field: str) -> SlackError:
    return SlackError(
        "invalid_arguments",
        response_metadata={"messages": [f"[ERROR] missing required field: {field}"]},
    )


def _stored(ws: Workspace, view: dict[str, Any], *, view_id: str) -> dict[str, Any]:
    """Return the view as Slack echoes it back: the app's fields plus Slack's own."""
    return {
        "id": view_id,
        "team_id": ws.team_id,
        "type": view["type"],
        "blocks": list(view.get("blocks") or []),
        "private_metadata": view.get("private_metadata", ""),
        "callback_id": view.get("callback_id", ""),
        "state": {"values": {}},
        "hash": f"{int(ws.wall_clock())}.{secrets.token_hex(4)}",
        "title": view.get("title"),
        "clear_on_close": bool(view.get("clear_on_close", False)),
        "notify_on_close": bool(view.get("notify_on_close", False)),
        "close": view.get("close"),
        "submit": view.get("submit"),
        "previous_view_id": None,
        "root_view_id": view_id,
        "app_id": APP_ID,
        "external_id": view.get("external_id", ""),
        "app_installed_team_id": ws.team_id,
        "bot_id": ws.bot_id,
    }
