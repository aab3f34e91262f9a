"""The audit chain verifies whatever an agent sends, after the database has normalised it."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import db
from bot.runtime import Runtime
from bot.schemas import EscalationIn
from bot.services import agents, audit, escalations
from bot.services.agents import Credentials
from models import AuditCheckpoint, AuditEvent

NOTICE = {"kind": "notice", "title": "Nightly batch ran"}
AWKWARD_NUMBERS = [
    1e16,
    -0.0,
    0.1,
    1e-7,
    1.0,
    1e23,
    1.5e300,
    5e-324,
    2**64 + 1,
    -(10**40),
    0.30000000000000004,
]
# Text a database can hold: no NUL, no lone surrogates (the API refuses both).
TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**60), max_value=10**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(AWKWARD_NUMBERS)
    | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=16,
)


async def _walk() -> tuple[int, int | None]:
    """The chain alone: how many events hold from the start, and the id of the first that does not."""
    verdict = await audit.verify()
    return verdict.head.count, verdict.broken_at


async def _escalate(rt: Runtime, creds: Credentials, context: dict[str, Any]) -> None:
    agent = await agents.authenticate(f"Bearer {creds.api_key}")
    body = EscalationIn.model_validate({**NOTICE, "context": context})
    await escalations.create(rt, agent=agent, body=body, idempotency_key=None)


@pytest.mark.parametrize(
    "context",
    [
        {"n": 1e16},
        {"n": -0.0},
        {"big": 1.5e300, "tiny": 1e-7, "third": 0.1, "one": 1.0, "huge": 2**80},
        {"nested": [{"x": [1e20, {"ключ": 2.5e-8, "🔑": [1e16, -0.0]}]}]},
    ],
)
async def test_an_escalation_with_awkward_numbers_keeps_the_chain_intact(
    rt: Runtime, credentials: Credentials, context: dict[str, Any]
) -> None:
    await _escalate(rt, credentials, context)
    assert await _walk() == (await AuditEvent.all().count(), None)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=JSON_VALUES)
async def test_any_json_value_verifies_after_a_round_trip_through_the_database(
    database: str, value: Any
) -> None:
    await AuditEvent.all().delete()
    await AuditCheckpoint.all().delete()
    async with db.transaction() as conn:
        await audit.record(conn, actor_type="agent", actor_id="bot", action="test", payload={"v": value})
    assert await _walk() == (1, None)
    assert (await audit.verify()).intact


@pytest.mark.parametrize(
    ("stored", "tampered"),
    [
        (2**100, 2**100 + 1),
        (1, "1"),
        (0.1, 0.10000000000000002),
        (1e16, 1e17),
        ([1, 2], [2, 1]),
        (None, False),
    ],
)
async def test_changing_a_value_breaks_the_chain(database: str, stored: Any, tampered: Any) -> None:
    async with db.transaction() as conn:
        event = await audit.record(
            conn, actor_type="agent", actor_id="bot", action="test", payload={"v": stored}
        )
    await AuditEvent.filter(id=event.id).update(payload={"v": tampered})
    assert await _walk() == (0, event.id)


def _first_form(event: AuditEvent) -> str:
    """The digest Council wrote before the canonical form: json.dumps with sorted keys."""
    fields = [event.prev_hash, event.at.isoformat(), event.actor_type, event.actor_id, event.action]
    body = json.dumps([*fields, event.subject, event.payload], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


async def _append_first_form(payload: dict[str, Any]) -> AuditEvent:
    last = await AuditEvent.all().order_by("-id").first()
    event = AuditEvent(
        at=datetime.now(UTC),
        actor_type="admin",
        actor_id="cli",
        action="agent.paused",
        subject="refund-bot",
        payload=payload,
        prev_hash=last.hash if last else audit.GENESIS,
    )
    event.hash = _first_form(event)
    await event.save()
    return event


async def test_a_chain_written_before_the_canonical_form_still_verifies(database: str) -> None:
    await _append_first_form({"reason": "runaway", "amount": 12.5})
    async with db.transaction() as conn:
        await audit.record(conn, actor_type="agent", actor_id="bot", action="test", payload={"n": 1e16})
    # A replica still on the old version can append between new ones during a rolling upgrade.
    old = await _append_first_form({"reason": "again", "count": 3})
    assert await _walk() == (3, None)
    await AuditEvent.filter(id=old.id).update(payload={"reason": "again", "count": 4})
    assert await _walk() == (2, old.id)


async def test_an_event_the_first_form_wrote_before_jsonb_changed_its_numbers_verifies(database: str) -> None:
    # What the old code wrote for an agent's context; JSONB gives back 10000000000000000 and 0.0.
    await _append_first_form({"context": {"n": 1e16, "z": -0.0, "id": 10**16, "xs": [1e20, 3]}})
    await _append_first_form({"context": {"n": 1e16}})
    assert await _walk() == (2, None)


async def test_an_edited_event_with_many_large_numbers_is_still_caught(database: str) -> None:
    event = await _append_first_form({"xs": [float(10**k) for k in range(16, 60)]})
    await AuditEvent.filter(id=event.id).update(payload={"xs": [float(10**k) for k in range(16, 59)]})
    assert await _walk() == (0, event.id)


async def _append(count: int) -> list[AuditEvent]:
    events = []
    for n in range(count):
        async with db.transaction() as conn:
            events.append(await audit.record(conn, actor_type="system", actor_id="t", action=f"test.{n}"))
    return events


async def _cut(last: int) -> None:
    """Delete the chain's last events, as someone hiding what they did would."""
    ids = await AuditEvent.all().order_by("-id").limit(last).values_list("id", flat=True)
    await AuditEvent.filter(id__in=list(ids)).delete()


async def test_every_append_moves_one_checkpoint_to_the_head(database: str) -> None:
    events = await _append(5)
    assert await AuditCheckpoint.all().values_list("count", "head_hash") == [(5, events[-1].hash)]
    verdict = await audit.verify()
    assert verdict.intact and verdict.head == audit.Head(5, events[-1].hash) and verdict.checkpoints == 1


async def test_cutting_the_last_events_off_is_caught_by_the_checkpoint(database: str) -> None:
    events = await _append(5)
    await _cut(2)
    assert await _walk() == (3, None)  # what remains is a valid chain on its own
    verdict = await audit.verify()
    assert not verdict.intact
    assert [(s.count, s.head_hash, s.found) for s in verdict.shortfalls] == [(5, events[-1].hash, None)]


async def test_a_cut_chain_that_grows_again_keeps_the_evidence(
    database: str, caplog: pytest.LogCaptureFixture
) -> None:
    events = await _append(5)
    await _cut(2)
    await _append(3)  # six events again, from event 3 on not the ones the checkpoint saw
    warned = [r.getMessage() for r in caplog.records if r.name == "bot.services.audit"]
    assert warned == [
        "the audit chain's head is not the one its newest checkpoint recorded (at 5 events): an older "
        "Council appended, or the chain was changed; run `council audit verify`"
    ]
    rows = await AuditCheckpoint.all().order_by("id")
    assert [row.count for row in rows] == [5, 6]  # the row the chain moved away from is left as it was
    verdict = await audit.verify()
    assert not verdict.intact
    [shortfall] = verdict.shortfalls
    assert shortfall.head_hash == events[-1].hash and shortfall.found not in (None, events[-1].hash)


async def test_a_head_kept_elsewhere_catches_a_cut_that_took_the_checkpoints_too(database: str) -> None:
    events = await _append(4)
    kept = (await audit.verify()).head.hash
    assert (await audit.verify(expect=kept)).expected_at == 4
    await _cut(1)
    await AuditCheckpoint.all().delete()
    assert (await audit.verify()).intact  # nothing inside the database can tell
    verdict = await audit.verify(expect=kept)
    assert not verdict.intact and verdict.expected_at is None
    assert (await audit.verify(expect=events[1].hash)).expected_at == 2  # an older head is still held


async def test_sealing_leaves_the_head_behind_and_keeps_a_month(database: str) -> None:
    await _append(2)
    head = await audit.seal()
    assert head.count == 2
    await audit.seal()  # nothing appended since: nothing new to keep
    rows = await AuditCheckpoint.all().order_by("id")
    assert [row.count for row in rows] == [2, 2]
    await _append(1)
    assert await AuditCheckpoint.all().order_by("id").values_list("count", flat=True) == [2, 3]
    await AuditCheckpoint.filter(id=rows[0].id).update(at=datetime.now(UTC) - timedelta(days=31))
    await audit.seal()
    assert await AuditCheckpoint.all().order_by("id").values_list("count", flat=True) == [3, 3]
    assert (await audit.verify()).intact


async def test_a_chain_from_before_checkpoints_is_counted_once(database: str) -> None:
    await _append_first_form({"reason": "written by 0.1"})
    await _append_first_form({"reason": "also 0.1"})
    assert await AuditCheckpoint.all().count() == 0
    await _append(1)
    assert await AuditCheckpoint.all().values_list("count", flat=True) == [3]
    assert (await audit.verify()).intact


async def test_appends_at_once_keep_the_checkpoint_at_the_head(database: str) -> None:
    async def append(n: int) -> None:
        async with db.transaction() as conn:
            await audit.record(conn, actor_type="system", actor_id="t", action=f"race.{n}")

    await asyncio.gather(*(append(n) for n in range(20)), audit.seal(), audit.seal())
    verdict = await audit.verify()
    assert verdict.intact and verdict.head.count == 20
    newest = await AuditCheckpoint.all().order_by("-id").first()
    assert newest is not None and (newest.count, newest.head_hash) == (20, verdict.head.hash)
