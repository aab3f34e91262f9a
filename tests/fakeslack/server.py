"""A fake Slack Web API served over real HTTP on 127.0.0.1, for end-to-end tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakeslack import chat, files, people, signing, views
from tests.fakeslack.limits import RateLimits
from tests.fakeslack.records import Call, PostedResponse, SlackError
from tests.fakeslack.socket_mode import DEFAULT_APP_TOKEN, SocketMode
from tests.fakeslack.workspace import DEFAULT_TOKEN, Workspace

Handler = Callable[[Workspace, dict[str, Any]], dict[str, Any]]

METHODS: dict[str, Handler] = {
    "auth.test": people.auth_test,
    "chat.postMessage": chat.post_message,
    "chat.update": chat.update,
    "chat.postEphemeral": chat.post_ephemeral,
    "chat.getPermalink": chat.get_permalink,
    "conversations.history": chat.history,
    "conversations.replies": chat.replies,
    "conversations.open": people.conversations_open,
    "files.getUploadURLExternal": files.get_upload_url_external,
    "files.completeUploadExternal": files.complete_upload_external,
    "reactions.add": chat.add_reaction,
    "users.info": people.users_info,
    "views.open": views.open_view,
    "views.push": views.push_view,
    "views.update": views.update_view,
    "views.publish": views.publish_view,
}
# Arguments Slack accepts as JSON text inside a form body.
JSON_ARGS = ("blocks", "attachments", "metadata", "view", "files")
OUTAGE_PAGE = "<html><head><title>503 Service Unavailable</title></head><body></body></html>"


@dataclass
class Failure:
    """An answer to give instead of the real one, for the next `times` calls of a method."""

    error: str
    status: int
    retry_after: int
    body: str | None
    times: int

    def response(self) -> web.Response:
        if self.status == 429:
            return web.json_response(
                {"ok": False, "error": self.error},
                status=429,
                headers={"Retry-After": str(self.retry_after)},
            )
        if self.status >= 500:
            text = OUTAGE_PAGE if self.body is None else self.body
            return web.Response(status=self.status, text=text, content_type="text/html")
        return web.json_response({"ok": False, "error": self.error}, status=self.status)


class FakeSlack(Workspace):
    """Slack's Web API for one workspace, served on a random local port (or `port`).

    Use `async with FakeSlack() as fake:` and give the app `fake.api_url` and `fake.token`;
    `fake.socket` is its Socket Mode side, for `fake.app_token`. With a `port`, `api_url` is known
    before `start()`, so an app can be started while this Slack cannot be reached yet.
    `fake.limits` enforces Slack's rate limits on `clock` (see tests.fakeslack.limits): change them
    per test, and read `fake.limits.count()` for the 429s they gave. Files sent with
    `files_upload_v2` land in `fake.uploads` (see tests.fakeslack.files), shared ones in the channel too.
    """

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        app_token: str = DEFAULT_APP_TOKEN,
        port: int = 0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        **identity: str,
    ) -> None:
        super().__init__(token=token, clock=clock, wall_clock=wall_clock, **identity)
        self.down = False
        self.port = port
        self.url = f"http://127.0.0.1:{port}" if port else ""
        self.app = web.Application()
        self.app.router.add_route("*", "/api/{method}", self._serve_api)
        self.app.router.add_post("/response/{response_id}", self._serve_response)
        self.app.router.add_post("/upload/v1/{upload_id}", self._serve_upload)
        self.socket = SocketMode(app_token=app_token, clock=clock, down=lambda: self.down)
        self.limits = RateLimits(clock=clock)
        self.socket.add_routes(self.app)
        self._failures: dict[str, list[Failure]] = {}
        self._holds: dict[str, list[tuple[asyncio.Event, asyncio.Event]]] = {}
        self._response_ids: set[str] = set()
        self._runner: web.AppRunner | None = None

    @property
    def api_url(self) -> str:
        """Return the base URL for `AsyncWebClient(base_url=...)`, ending in "/api/"."""
        if not self.url:
            raise RuntimeError("FakeSlack is not started")
        return f"{self.url}/api/"

    @property
    def app_token(self) -> str:
        return self.socket.app_token

    async def start(self) -> None:
        """Serve on 127.0.0.1, on a free port the first time and on the same port after a stop."""
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        host, self.port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{self.port}"

    async def stop(self) -> None:
        """Stop serving and close every connection, WebSockets too: this Slack is unreachable."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSlack:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def fail_next(
        self,
        method: str,
        *,
        error: str = "ratelimited",
        status: int = 429,
        retry_after: int = 1,
        times: int = 1,
        body: str | None = None,
    ) -> None:
        """Answer the next `times` calls of `method` ("*" for any) with a failure.

        429 carries `Retry-After`; 5xx answers an HTML outage page (or `body`, "" for none);
        200 answers `{"ok": false, "error": error}`. Nothing such a call asked for happens.
        """
        failure = Failure(error, status, retry_after, body, times)
        self._failures.setdefault(method, []).append(failure)

    def hold_next(self, method: str) -> tuple[asyncio.Event, asyncio.Event]:
        """Make the next call of `method` wait, as a slow Slack would: returns (arrived, release).

        `arrived` is set once the call is waiting; the call goes on when the test sets `release`.
        """
        arrived, release = asyncio.Event(), asyncio.Event()
        self._holds.setdefault(method, []).append((arrived, release))
        return arrived, release

    def new_response_url(self) -> str:
        """Return a response_url on this fake; what the app posts to it lands in `responses`."""
        if not self.url:
            raise RuntimeError("FakeSlack is not started")
        response_id = secrets.token_hex(8)
        self._response_ids.add(response_id)
        return f"{self.url}/response/{response_id}"

    async def wait_for(
        self,
        predicate: Callable[[], Any],
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline for polling, like asyncio.wait_for
        interval: float = 0.01,
    ) -> Any:
        """Poll `predicate` until it returns something truthy, and return that."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = predicate()
            if result:
                return result
            if loop.time() >= deadline:
                name = getattr(predicate, "__name__", repr(predicate))
                raise AssertionError(f"{name} still false after {timeout}s\n{self.dump()}")
            await asyncio.sleep(interval)

    # -- payloads pointed at this fake -------------------------------------------------------

    def slash_command_body(self, command: str = "/council", text: str = "", **kw: Any) -> str:
        """Return a slash command body with a live trigger id and a response_url here."""
        user = kw.setdefault("user_id", "U0ADMIN01")
        kw.setdefault("trigger_id", self.new_trigger_id(user))
        kw.setdefault("response_url", self.new_response_url())
        return signing.slash_command_body(command, text, **kw)

    def block_action_body(self, user_id: str, action_id: str, value: str | None = None, **kw: Any) -> str:
        """Return a button click on a message of this fake (found by channel_id + message_ts)."""
        if kw.get("message") is None and kw.get("message_ts") and kw.get("channel_id"):
            kw["message"] = self.find_message(kw["channel_id"], kw["message_ts"])
        kw.setdefault("trigger_id", self.new_trigger_id(user_id))
        kw.setdefault("response_url", self.new_response_url())
        return signing.block_action_body(user_id, action_id, value, **kw)

    def view_submission_body(self, user_id: str, callback_id: str, values: Any, **kw: Any) -> str:
        """Return a modal submission with a live trigger id."""
        kw.setdefault("trigger_id", self.new_trigger_id(user_id))
        return signing.view_submission_body(user_id, callback_id, values, **kw)

    # -- HTTP --------------------------------------------------------------------------------

    async def _serve_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        try:
            args = await _read_args(request)
        except SlackError as error:
            self.calls.append(Call(method, {}, ok=False, error=error.error))
            return web.json_response(error.body())
        token = _bearer(request) or args.pop("token", None)
        args.pop("token", None)
        held = self._holds.get(method)
        if held:
            arrived, release = held.pop(0)
            arrived.set()
            await release.wait()
        if self.down:
            self.calls.append(Call(method, args, ok=False, error="http_503"))
            return web.Response(status=503, text=OUTAGE_PAGE, content_type="text/html")
        failure = self._take_failure(method)
        if failure is not None:
            self.calls.append(Call(method, args, ok=False, error=f"{failure.status}:{failure.error}"))
            return failure.response()
        retry_after = self.limits.check(method, args)
        if retry_after is not None:
            self.calls.append(Call(method, args, ok=False, error="429:ratelimited"))
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": str(retry_after)}
            )
        try:
            if method == "apps.connections.open":
                body = self.socket.open_connection(self.url, token)
            else:
                body = self._call(method, token, args)
        except SlackError as error:
            self.calls.append(Call(method, args, ok=False, error=error.error))
            return web.json_response(error.body())
        self.calls.append(Call(method, args, ok=True))
        return web.json_response({"ok": True, **body})

    async def _serve_response(self, request: web.Request) -> web.Response:
        response_id = request.match_info["response_id"]
        if response_id not in self._response_ids:
            return web.json_response({"ok": False, "error": "no_such_response_url"}, status=404)
        try:
            body = json.loads(await request.text())
        except ValueError:
            return web.json_response({"ok": False, "error": "invalid_payload"}, status=400)
        self.responses.append(PostedResponse(response_id, body))
        return web.json_response({"ok": True})

    async def _serve_upload(self, request: web.Request) -> web.Response:
        """Take a file's bytes at its upload URL, once, as Slack's file host does."""
        if self.down:
            return web.Response(status=503, text=OUTAGE_PAGE, content_type="text/html")
        content = await files.read_upload(request)
        if not self.receive_upload(request.match_info["upload_id"], content):
            return web.Response(status=404, text="Not Found", content_type="text/plain")
        return web.Response(text=f"OK - {len(content)}", content_type="text/plain")

    def _call(self, method: str, token: str | None, args: dict[str, Any]) -> dict[str, Any]:
        handler = METHODS.get(method)
        if handler is None:
            raise SlackError("unknown_method")
        if not token:
            raise SlackError("not_authed")
        if token != self.token:
            raise SlackError("invalid_auth")
        return handler(self, args)

    def _take_failure(self, method: str) -> Failure | None:
        for key in (method, "*"):
            queue = self._failures.get(key)
            if queue:
                failure = queue[0]
                failure.times -= 1
                if failure.times <= 0:
                    queue.pop(0)
                return failure
        return None


def _bearer(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def _read_args(request: web.Request) -> dict[str, Any]:
    """Merge query string, form or JSON body; decode JSON-text arguments like `blocks`."""
    args: dict[str, Any] = dict(request.query)
    if request.body_exists:
        if request.content_type == "application/json":
            try:
                body = json.loads(await request.text())
            except ValueError:
                raise SlackError("invalid_json") from None
            if not isinstance(body, dict):
                raise SlackError("invalid_json")
            args.update(body)
        else:
            form = await request.post()
            args.update({k: v for k, v in form.items() if isinstance(v, str)})
    for key in JSON_ARGS:
        if isinstance(args.get(key), str):
            # Text that is not JSON stays text: the method answers with its own error.
            with contextlib.suppress(ValueError):
                args[key] = json.loads(args[key])
    return args
