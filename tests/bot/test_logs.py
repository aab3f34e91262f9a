"""Log lines as text or JSON: each names the escalation, agent and council bound where it was logged."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot import keys, log_context
from bot.log_context import bind
from tests.logged import council_logs

ESC = "esc_0123456789abcdef0123"


@pytest.fixture
def written(request: pytest.FixtureRequest) -> Iterator[io.StringIO]:
    """Logging as `council serve` sets it up in the format given by the test's parameter."""
    with council_logs("INFO", request.param) as stream:
        yield stream


def _lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


@pytest.mark.parametrize("written", ["json"], indirect=True)
def test_a_json_line_has_the_bound_fields_as_keys_and_none_when_unbound(written: io.StringIO) -> None:
    log = logging.getLogger("bot.test")
    with bind(escalation=ESC, agent="refund-bot"), bind(council="finance"):
        log.info("vote recorded")
    log.info("digest queued")
    bound, unbound = (json.loads(line) for line in _lines(written))
    assert bound["message"] == "vote recorded" and bound["level"] == "info" and bound["logger"] == "bot.test"
    assert (bound["escalation"], bound["agent"], bound["council"]) == (ESC, "refund-bot", "finance")
    assert unbound["message"] == "digest queued"
    assert not {"escalation", "agent", "council"} & set(unbound)


@pytest.mark.parametrize("written", ["text"], indirect=True)
def test_a_text_line_ends_with_the_bound_fields(written: io.StringIO) -> None:
    log = logging.getLogger("bot.test")
    with bind(escalation=ESC, agent="refund-bot", council="finance"):
        log.info("escalation decided: %s", "approved")
    with bind(agent="refund-bot"):
        log.warning("rate limited")
    log.info("digest queued")
    decided, limited, plain = _lines(written)
    assert decided.endswith(
        " INFO bot.test: escalation decided: approved escalation=" + ESC + " agent=refund-bot council=finance"
    )
    assert limited.endswith(" WARNING bot.test: rate limited agent=refund-bot")
    assert plain.endswith(" INFO bot.test: digest queued")


@pytest.mark.parametrize("written", ["json", "text"], indirect=True)
def test_a_failure_reported_outside_its_block_still_names_where_it_was_raised(written: io.StringIO) -> None:
    """An error middleware logs after the handler's block has ended: the exception carries the fields."""
    log = logging.getLogger("bot.test")
    try:
        with bind(agent="refund-bot"), bind(escalation=ESC):
            raise RuntimeError("boom")
    except RuntimeError:
        assert log_context.current() == {}
        log.exception("unhandled error on GET /api/v1/escalations/%s", ESC)
    text = written.getvalue()
    first = text.splitlines()[0]
    if first.startswith("{"):
        entry = json.loads(text)
        assert (entry["escalation"], entry["agent"]) == (ESC, "refund-bot") and "RuntimeError" in entry[
            "exception"
        ]
    else:
        assert first.endswith(f"escalation={ESC} agent=refund-bot") and "RuntimeError: boom" in text


@pytest.mark.parametrize("written", ["json"], indirect=True)
def test_keys_stay_redacted_on_a_line_with_fields(written: io.StringIO) -> None:
    with bind(agent="refund-bot"):
        logging.getLogger("slack_sdk.web").warning("body: key ck_%s", "A" * 30)
    entry = json.loads(written.getvalue())
    assert entry["message"] == "body: key ck_[redacted]" and entry["agent"] == "refund-bot"


@pytest.mark.parametrize("written", ["json", "text"], indirect=True)
def test_keys_in_an_exception_and_its_traceback_are_redacted(written: io.StringIO) -> None:
    """An exception's text is written as it was raised: a key in it is redacted there too."""
    key, secret = keys.new_api_key(), keys.signing_secret(b"k" * 32, keys.new_salt())
    try:
        raise RuntimeError(f"agent rejected\n{key} with {secret}")
    except RuntimeError:
        logging.getLogger("bot.test").exception("callback failed for %s", "refund-bot")
    text = written.getvalue()
    assert key not in text and secret not in text and key[3:] not in text and secret[6:] not in text
    if text.startswith("{"):
        entry = json.loads(text)
        assert entry["message"] == "callback failed for refund-bot"
        assert entry["exception"].endswith(
            "RuntimeError: agent rejected\nck_[redacted] with whsec_[redacted]"
        )
    else:
        assert "callback failed for refund-bot" in text and "Traceback (most recent call last)" in text
        assert text.endswith("RuntimeError: agent rejected\nck_[redacted] with whsec_[redacted]\n")


def test_a_binding_ends_with_its_block_even_when_it_fails() -> None:
    with bind(escalation=ESC, agent="refund-bot"):
        with pytest.raises(ValueError), bind(escalation="esc_ffffffffffffffffffff"):
            assert log_context.current()["escalation"] == "esc_ffffffffffffffffffff"
            raise ValueError
        assert dict(log_context.current()) == {"escalation": ESC, "agent": "refund-bot"}
    assert log_context.current() == {}


async def test_a_task_keeps_what_was_bound_when_it_was_created_and_nothing_leaks_back() -> None:
    async def inside() -> dict[str, str]:
        with bind(council="finance"):
            await asyncio.sleep(0)
            return dict(log_context.current())

    with bind(escalation=ESC):
        task = asyncio.create_task(inside())
    assert await task == {"escalation": ESC, "council": "finance"}
    assert log_context.current() == {}
