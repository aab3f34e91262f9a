"""Summarise timings and print them as a table: Council beside its baseline."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from bench.load import LoadRun


@dataclass(frozen=True)
class Latency:
    """Latency percentiles in seconds (interpolated between the samples, like most load tools)."""

    p50: float
    p90: float
    p99: float
    max: float

    @classmethod
    def of(cls, samples: Sequence[float]) -> Latency | None:
        """Summarise the samples; None when there are none."""
        if not samples:
            return None
        if len(samples) == 1:
            return cls(samples[0], samples[0], samples[0], samples[0])
        cuts = statistics.quantiles(samples, n=100, method="inclusive")
        return cls(p50=cuts[49], p90=cuts[89], p99=cuts[98], max=max(samples))


@dataclass(frozen=True)
class Row:
    """One figure: Council's value beside the baseline's (None: not measured for that side)."""

    label: str
    council: float | None
    baseline: float | None = None
    digits: int = 1
    compare: bool = True  # whether a Council/baseline ratio means anything for this figure


def latency_rows(what: str, council: Latency | None, baseline: Latency | None) -> list[Row]:
    """Return the p50/p90/p99/max rows of two latency summaries, in milliseconds."""
    rows = []
    for name in ("p50", "p90", "p99", "max"):
        ours = getattr(council, name) * 1000 if council else None
        theirs = getattr(baseline, name) * 1000 if baseline else None
        rows.append(Row(f"{what} {name} (ms)", ours, theirs))
    return rows


def table(title: str, rows: Sequence[Row], *, baseline: str) -> str:
    """Render the rows as a fixed-width table with a Council/baseline ratio column."""
    width = max(len(row.label) for row in rows)
    column = max(10, len(baseline))
    lines = [title, f"{'':{width}}  {'Council':>{column}}  {baseline:>{column}}  {'ratio':>8}"]
    for row in rows:
        lines.append(
            f"{row.label:{width}}  {_number(row.council, row.digits):>{column}}  "
            f"{_number(row.baseline, row.digits):>{column}}  {_ratio(row):>8}"
        )
    return "\n".join(lines)


def _number(value: float | None, digits: int) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _ratio(row: Row) -> str:
    if not row.compare or row.council is None or not row.baseline:
        return ""
    return f"{row.council / row.baseline:.2f}×"


def report(title: str, rows: Sequence[Row], *, baseline: str, runs: Sequence[LoadRun]) -> str:
    """Return the table, with a note when a run hit its time limit (its figures are then partial)."""
    lines = [table(title, rows, baseline=baseline)]
    if any(run.timed_out for run in runs):
        lines.append("note: a run hit --timeout; its figures cover only the requests answered in time")
    return "\n".join(lines)
