"""The fake's file upload flow, driven by slack-sdk's real `files_upload_v2` over HTTP."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from tests.clock import ManualClock
from tests.fakeslack import FakeSlack
from tests.fakeslack.limits import TIER_4

NOW = 1_700_000_000.0
CHART = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def fake(clock: ManualClock) -> AsyncIterator[FakeSlack]:
    async with FakeSlack(clock=clock.seconds, wall_clock=lambda: NOW) as fake:
        yield fake


@pytest.fixture
def client(fake: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(base_url=fake.api_url, token=fake.token)


async def _ticket(client: AsyncWebClient, length: int = len(CHART)) -> tuple[str, str]:
    """Ask for an upload URL; return (file_id, upload_url)."""
    answer = await client.files_getUploadURLExternal(filename="digest.png", length=length)
    return answer["file_id"], answer["upload_url"]


async def _post(url: str, **kwargs: Any) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.post(url, **kwargs) as response:
        return response.status, await response.text()


async def _error(call: Any) -> dict[str, Any]:
    with pytest.raises(SlackApiError) as failed:
        await call
    assert failed.value.response.status_code == 200
    body: dict[str, Any] = failed.value.response.data
    assert body["ok"] is False
    return body


async def test_files_upload_v2_records_the_exact_bytes_and_shares_them_in_the_channel(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    done = await client.files_upload_v2(
        channel="C1",
        file=CHART,
        filename="digest-2026-W49.png",
        title="ai-council · week 2026-W49",
        initial_comment="This week's escalations",
        alt_txt="Escalations per day by outcome, and time to decision",
    )
    [upload] = fake.uploads
    assert done["file"]["id"] == upload.file_id and upload.file_id.startswith("F")
    assert (upload.content, upload.filename, upload.title) == (
        CHART,
        "digest-2026-W49.png",
        "ai-council · week 2026-W49",
    )
    assert upload.alt_txt == "Escalations per day by outcome, and time to decision"
    assert (upload.channel, upload.channels, upload.thread_ts) == ("C1", ["C1"], None)
    assert (upload.initial_comment, upload.completed_at) == ("This week's escalations", NOW)
    assert fake.uploads_in("C1") == [upload] and fake.uploads_in("C2") == []
    assert [c.method for c in fake.calls] == ["files.getUploadURLExternal", "files.completeUploadExternal"]
    assert (done["file"]["name"], done["file"]["size"], done["file"]["mimetype"]) == (
        "digest-2026-W49.png",
        len(CHART),
        "image/png",
    )

    # The channel shows it as Slack does: a message by the bot carrying the file.
    [message] = (await client.conversations_history(channel="C1"))["messages"]
    assert (message["text"], message["upload"], message["user"]) == (
        "This week's escalations",
        True,
        fake.bot_user_id,
    )
    assert [f["id"] for f in message["files"]] == [upload.file_id]
    assert message["files"][0]["title"] == "ai-council · week 2026-W49"
    assert fake.messages("C1")[0].files[0]["channels"] == ["C1"]


async def test_upload_into_a_thread_or_a_dm_and_without_a_channel(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    parent = await client.chat_postMessage(channel="C1", text="Weekly digest")
    await client.files_upload_v2(channel="C1", thread_ts=parent["ts"], file=b"a", filename="a.png")
    await client.files_upload_v2(channels=["U0FIN0001", "C2"], file=b"b", filename="b.png")
    await client.files_upload_v2(file=b"c", filename="c.png", title="private")

    threaded, to_two, private = fake.uploads
    assert (threaded.channel, threaded.thread_ts, threaded.title) == ("C1", parent["ts"], "a.png")
    assert [m.files[0]["id"] for m in fake.replies_of("C1", parent["ts"])] == [threaded.file_id]
    assert [m.text for m in fake.messages("C1")] == ["Weekly digest"]
    assert to_two.channels == [fake.dm_channel("U0FIN0001"), "C2"]
    assert fake.uploads_in("U0FIN0001") == [to_two]
    assert [m.files[0]["ims"] for m in fake.dms("U0FIN0001")] == [[fake.dm_channel("U0FIN0001")]]
    assert (private.channels, private.channel, private.content) == ([], None, b"c")
    assert fake.uploads_in("C2") == [to_two]


async def test_the_upload_url_answers_like_slacks_file_host_and_takes_bytes_once(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    file_id, url = await _ticket(client)
    assert url.startswith(f"{fake.url}/upload/v1/")
    assert await _post(url, data=CHART) == (200, f"OK - {len(CHART)}")
    assert (await _post(url, data=CHART))[0] == 404
    assert (await _post(f"{fake.url}/upload/v1/never-issued", data=CHART))[0] == 404

    done = await client.files_completeUploadExternal(files=[{"id": file_id, "title": "t"}])
    assert done["files"][0]["id"] == file_id
    assert (await _post(url, data=b"later"))[0] == 404
    # A file is completed once; its ticket is gone after.
    again = await _error(client.files_completeUploadExternal(files=[{"id": file_id}]))
    assert again["error"] == "file_not_found"
    assert [u.content for u in fake.uploads] == [CHART]


async def test_files_upload_v2_fails_when_the_upload_url_was_used(
    fake: FakeSlack, client: AsyncWebClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = fake.receive_upload

    def someone_else_first(upload_id: str, content: bytes) -> bool:
        real(upload_id, b"other")
        return real(upload_id, content)

    monkeypatch.setattr(fake, "receive_upload", someone_else_first)
    with pytest.raises(SlackRequestError, match="status: 404"):
        await client.files_upload_v2(channel="C1", file=CHART, filename="digest.png")
    assert fake.uploads == [] and fake.messages("C1") == []


async def test_multipart_and_large_uploads_are_taken_whole(fake: FakeSlack, client: AsyncWebClient) -> None:
    form = aiohttp.FormData()
    form.add_field("filename", CHART, filename="digest.png", content_type="image/png")
    file_id, url = await _ticket(client)
    assert await _post(url, data=form) == (200, f"OK - {len(CHART)}")
    await client.files_completeUploadExternal(files=[{"id": file_id}])
    # 2 MiB: past aiohttp's default cap on a request body. (A stream, as aiohttp warns about raw
    # bytes over 1 MiB; slack-sdk sends raw bytes, so a test that uploads that much through
    # files_upload_v2 meets that ResourceWarning.)
    big = bytes(range(256)) * 8192
    answer = await client.files_getUploadURLExternal(filename="big.bin", length=len(big))
    assert await _post(answer["upload_url"], data=io.BytesIO(big)) == (200, f"OK - {len(big)}")
    await client.files_completeUploadExternal(files=[{"id": answer["file_id"]}])
    assert [(u.filename, u.content) for u in fake.uploads] == [("digest.png", CHART), ("big.bin", big)]


@pytest.mark.parametrize(
    ("params", "error", "message"),
    [
        ({"length": 10}, "invalid_arguments", "[ERROR] missing required field: filename"),
        ({"filename": "a.png"}, "invalid_arguments", "[ERROR] missing required field: length"),
        ({"filename": "a.png", "length": "ten"}, "invalid_arguments", "[ERROR] length must be an integer"),
        ({"filename": "a.png", "length": "1.5"}, "invalid_arguments", "[ERROR] length must be an integer"),
        ({"filename": "a.png", "length": 0}, "missing_argument", None),
        (
            {"filename": "a.png", "length": -3},
            "invalid_arguments",
            "[ERROR] length must be a positive integer",
        ),
        ({"filename": "a.png", "length": 10, "alt_txt": "x" * 1001}, "alt_txt_too_large", None),
        ({"filename": "a.py", "length": 2 * 1024**2, "snippet_type": "python"}, "snippet_too_large", None),
        ({"filename": "a.bin", "length": 1024**3 + 1}, "file_upload_size_restricted", None),
    ],
    ids=[
        "no-filename",
        "no-length",
        "word",
        "fraction",
        "zero",
        "negative",
        "alt-txt",
        "snippet",
        "over-1GB",
    ],
)
async def test_get_upload_url_refuses_bad_arguments_like_slack(
    fake: FakeSlack, client: AsyncWebClient, params: dict[str, Any], error: str, message: str | None
) -> None:
    body = await _error(client.api_call("files.getUploadURLExternal", params=params))
    assert body["error"] == error
    if message is None:
        assert body == {"ok": False, "error": error}
    else:
        assert body["response_metadata"] == {"messages": [message]}
    assert fake.calls[-1].ok is False


async def test_a_json_body_length_is_taken_as_the_integer_it_is(client: AsyncWebClient) -> None:
    answer = await client.api_call("files.getUploadURLExternal", json={"filename": "a.png", "length": 3})
    assert answer["file_id"].startswith("F")
    body = await _error(
        client.api_call("files.getUploadURLExternal", json={"filename": "a.png", "length": 3.0})
    )
    assert body["error"] == "invalid_arguments"


@pytest.mark.parametrize("method", ["files.getUploadURLExternal", "files.completeUploadExternal"])
async def test_both_methods_need_the_bot_token(fake: FakeSlack, method: str) -> None:
    params = {"filename": "a.png", "length": 1, "files": json.dumps([{"id": "F1"}])}
    wrong = AsyncWebClient(base_url=fake.api_url, token="xoxb-wrong")
    assert (await _error(wrong.api_call(method, params=params)))["error"] == "invalid_auth"
    anonymous = AsyncWebClient(base_url=fake.api_url)
    assert (await _error(anonymous.api_call(method, params=params)))["error"] == "not_authed"


async def test_completing_an_unknown_unsent_or_short_file_fails_and_shares_nothing(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    never = await _error(client.files_completeUploadExternal(files=[{"id": "F0NEVER"}], channel_id="C1"))
    assert never["error"] == "file_not_found"

    unsent, _ = await _ticket(client)
    body = await _error(client.files_completeUploadExternal(files=[{"id": unsent}], channel_id="C1"))
    assert body["error"] == "file_not_found"

    short, url = await _ticket(client)
    assert await _post(url, data=CHART[:-1]) == (200, f"OK - {len(CHART) - 1}")
    body = await _error(client.files_completeUploadExternal(files=[{"id": short}], channel_id="C1"))
    assert body["error"] == "invalid_arguments"
    assert body["response_metadata"]["messages"] == [
        f"[ERROR] file {short} received {len(CHART) - 1} bytes, "
        f"but files.getUploadURLExternal announced length {len(CHART)}"
    ]
    # One bad file refuses the whole call: the good one beside it is not completed either.
    good, url = await _ticket(client)
    await _post(url, data=CHART)
    both = [{"id": good}, {"id": short}]
    assert (await _error(client.files_completeUploadExternal(files=both)))["error"] == "invalid_arguments"
    assert fake.uploads == [] and fake.messages("C1") == []
    await client.files_completeUploadExternal(files=[{"id": good}], channel_id="C1")
    assert [u.file_id for u in fake.uploads] == [good]


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ({"channel_id": "C404"}, "channel_not_found"),
        ({"channels": "C1,C404"}, "invalid_channel"),
        ({"channels": ",".join(f"C{i}" for i in range(101))}, "channels_limit_exceeded"),
        ({"files": None}, "invalid_arguments"),
        ({"files": "not json"}, "invalid_arguments"),
        ({"files": json.dumps([{"title": "no id"}])}, "invalid_arguments"),
        ({"files": json.dumps([])}, "invalid_arguments"),
    ],
    ids=[
        "unknown-channel-id",
        "unknown-in-channels",
        "over-100-channels",
        "no-files",
        "text",
        "no-id",
        "empty",
    ],
)
async def test_complete_refuses_bad_channels_and_files_like_slack(
    fake: FakeSlack, client: AsyncWebClient, args: dict[str, Any], error: str
) -> None:
    fake.channels = {"C1"} | {f"C{i}" for i in range(101)} - {"C404"}
    file_id, url = await _ticket(client)
    await _post(url, data=CHART)
    params = {"files": json.dumps([{"id": file_id, "title": "t"}]), **args}
    body = await _error(client.api_call("files.completeUploadExternal", params=params))
    assert body["error"] == error
    assert fake.uploads == [] and fake.messages("C1") == []


async def test_both_methods_are_tier_4(fake: FakeSlack, client: AsyncWebClient, clock: ManualClock) -> None:
    for _ in range(TIER_4.burst):
        await _ticket(client)
    with pytest.raises(SlackApiError) as limited:
        await _ticket(client)
    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "1"
    assert fake.limits.count("files.getUploadURLExternal") == 1
    clock.advance(0.7)
    file_id, url = await _ticket(client)
    await _post(url, data=CHART)
    for _ in range(TIER_4.burst):
        await _error(client.files_completeUploadExternal(files=[{"id": "F0NEVER"}]))
    with pytest.raises(SlackApiError) as limited:
        await client.files_completeUploadExternal(files=[{"id": file_id}])
    assert limited.value.response.status_code == 429
    assert fake.limits.count("files.completeUploadExternal") == 1 and fake.uploads == []


async def test_the_upload_host_is_down_with_the_rest_of_slack(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    _, url = await _ticket(client)
    fake.down = True
    assert (await _post(url, data=CHART))[0] == 503
    fake.down = False
    assert await _post(url, data=CHART) == (200, f"OK - {len(CHART)}")
