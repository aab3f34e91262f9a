"""The weekly digest chart: a valid PNG of Slack's preview size, for a busy week and an empty one."""

from __future__ import annotations

import dataclasses
import io
import struct
import zlib

import pytest
from PIL import Image

from bot.slack.digest_chart import FALLBACK_COLOURS, OUTCOME_COLOURS, WAIT_COLOUR, ChartData, render

DAYS = ["Mon 30", "Tue 1", "Wed 2", "Thu 3", "Fri 4", "Sat 5", "Sun 6"]
WAITS = ["< 15 min", "< 1 h", "< 4 h", "< 24 h", "≥ 24 h"]
WEEK = ChartData(
    title="ai-council · week 2026-W49",
    days=DAYS,
    outcomes={"approved": [3, 5, 2, 7, 4, 0, 1], "rejected": [1, 0, 2, 1, 0, 0, 0], "expired": [0] * 7},
    wait_labels=WAITS,
    wait_counts=[9, 8, 6, 4, 2],
)
EMPTY = ChartData(
    title="ai-council · week 2026-W50",
    days=DAYS,
    outcomes={"approved": [0] * 7},
    wait_labels=WAITS,
    wait_counts=[0] * 5,
)


def _chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    """Split a PNG into its (type, data) chunks, checking the signature and every CRC."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, at = [], 8
    while at < len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        kind, data = png[at + 4 : at + 8], png[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", png[at + 8 + length : at + 12 + length])
        assert zlib.crc32(kind + data) == crc, kind
        chunks.append((kind, data))
        at += 12 + length
    return chunks


def _size(png: bytes) -> tuple[int, int]:
    chunks = _chunks(png)
    assert chunks[0][0] == b"IHDR" and chunks[-1] == (b"IEND", b"")
    width, height = struct.unpack(">II", chunks[0][1][:8])
    return width, height


def _pixels(png: bytes, colour: str) -> int:
    """Count the pixels painted exactly `colour` ("#RRGGBB")."""
    rgb = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
    image = Image.open(io.BytesIO(png)).convert("RGB")
    return sum(count for count, pixel in image.getcolors(maxcolors=1 << 24) or [] if pixel == rgb)


def test_a_week_renders_as_a_png_of_slacks_preview_size_with_each_series_in_its_colour() -> None:
    png = render(WEEK)
    assert _size(png) == (1200, 500)
    assert _pixels(png, OUTCOME_COLOURS["approved"]) > _pixels(png, OUTCOME_COLOURS["rejected"]) > 1000
    assert _pixels(png, WAIT_COLOUR) > 1000
    # An outcome with no escalations has its legend swatch and nothing more.
    assert 0 < _pixels(png, OUTCOME_COLOURS["expired"]) < 500


def test_the_same_data_gives_the_same_bytes_with_no_software_stamp() -> None:
    png = render(WEEK)
    assert render(WEEK) == png
    assert not [data for kind, data in _chunks(png) if kind in (b"tEXt", b"iTXt", b"zTXt", b"tIME")]


def test_an_empty_week_still_renders_a_labelled_chart_without_bars() -> None:
    png = render(EMPTY)
    assert _size(png) == (1200, 500)
    assert _pixels(png, OUTCOME_COLOURS["approved"]) == 0 and _pixels(png, WAIT_COLOUR) == 0
    # Titles, day labels and the "no escalations this week" notes are there in black and grey.
    assert _pixels(png, "#000000") > 1000 and _pixels(png, "#555555") > 100
    assert _size(render(ChartData("no outcomes, no buckets", DAYS, {}, [], []))) == (1200, 500)


def test_unknown_outcomes_get_a_fallback_colour() -> None:
    data = ChartData("c", DAYS, {"escalated": [1] * 7, "Approved": [2] * 7}, WAITS, [1] * 5)
    png = render(data)
    assert _pixels(png, OUTCOME_COLOURS["approved"]) > 1000
    assert _pixels(png, FALLBACK_COLOURS[0]) > 1000


def test_names_people_wrote_are_drawn_as_text_even_with_dollars_and_emoji() -> None:
    # "$\\frac$" would be a mathtext error, and the robot a missing glyph (a warning, an error here).
    data = ChartData("R&D $\\frac$ council 🤖", DAYS, {"approved 🤖": [1] * 7}, WAITS, [1] * 5)
    assert _size(render(data)) == (1200, 500)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"outcomes": {"approved": [1] * 6}}, r"outcomes\['approved'\] has 6 counts for 7 days"),
        ({"wait_counts": [1, 2]}, "wait_counts has 2 counts for 5 wait_labels"),
        ({"days": [], "outcomes": {}}, "days is empty"),
        ({"wait_counts": [1, -1, 0, 0, 0]}, "must not be negative"),
    ],
    ids=["outcome-days", "wait-buckets", "no-days", "negative"],
)
def test_inconsistent_data_is_refused_with_a_clear_error(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        render(dataclasses.replace(WEEK, **change))
