"""The weekly digest's chart: escalations per day by outcome, and how long decisions took, as a PNG.

Pure and headless: matplotlib's object API on an Agg canvas, without pyplot, so no backend, current
figure or other global state is touched. The same data gives the same bytes (no timestamp or
version is written into the file).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache
from itertools import cycle

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, findfont, get_font
from matplotlib.ticker import MaxNLocator

# 1200 × 500 px: what Slack's image preview shows without shrinking the text past reading.
WIDTH_INCHES, HEIGHT_INCHES, DPI = 12.0, 5.0, 100
# Okabe–Ito colours, told apart with the common colour-vision deficiencies.
OUTCOME_COLOURS = {
    "approved": "#009E73",
    "rejected": "#D55E00",
    "expired": "#999999",
    "withdrawn": "#CC79A7",
    "pending": "#E69F00",
    "other": "#56B4E9",
}
# For outcomes not named above: Paul Tol's, none of them one of the colours above.
FALLBACK_COLOURS = ("#332288", "#882255", "#44AA99", "#DDCC77", "#AA4499", "#88CCEE")
WAIT_COLOUR = "#0072B2"
NO_ESCALATIONS = "no escalations this week"
NO_DECISIONS = "no decisions this week"


@dataclass(frozen=True)
class ChartData:
    """What the digest chart shows for one council and one week."""

    title: str  # e.g. "ai-council · week 2026-W49"
    days: list[str]  # 7 labels, e.g. ["Mon 30", "Tue 1", ...]
    outcomes: dict[str, list[int]]  # outcome label -> count per day, stacked in dict order
    wait_labels: list[str]  # time-to-decision buckets, e.g. ["< 15 min", "< 1 h", ..., "≥ 24 h"]
    wait_counts: list[int]  # decisions per bucket

    def __post_init__(self) -> None:
        if not self.days:
            raise ValueError("ChartData.days is empty: the chart needs at least one day")
        for label, counts in self.outcomes.items():
            if len(counts) != len(self.days):
                raise ValueError(
                    f"ChartData.outcomes[{label!r}] has {len(counts)} counts for {len(self.days)} days"
                )
        if len(self.wait_counts) != len(self.wait_labels):
            raise ValueError(
                f"ChartData.wait_counts has {len(self.wait_counts)} counts "
                f"for {len(self.wait_labels)} wait_labels"
            )
        counts = [c for day_counts in self.outcomes.values() for c in day_counts] + list(self.wait_counts)
        if any(c < 0 for c in counts):
            raise ValueError("ChartData counts must not be negative")


def render(data: ChartData) -> bytes:
    """Render the chart as PNG bytes, 1200 × 500 px."""
    figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI)
    FigureCanvasAgg(figure)
    # Fixed margins: the size never changes, and a layout engine would double the time to render.
    figure.subplots_adjust(left=0.04, right=0.99, bottom=0.09, top=0.83, wspace=0.12)
    # Names come from people (a council called "R&D $$"): never read them as mathtext.
    figure.suptitle(
        _drawable(data.title), x=0.04, ha="left", fontsize=15, fontweight="bold", parse_math=False
    )
    per_day, waits = figure.subplots(1, 2, width_ratios=(3, 2))
    _draw_outcomes(per_day, data)
    _draw_waits(waits, data)
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()


def _draw_outcomes(ax: Axes, data: ChartData) -> None:
    ax.set_title("Escalations per day by outcome", loc="left", fontsize=12)
    positions = range(len(data.days))
    bottoms = [0] * len(data.days)
    fallback = cycle(FALLBACK_COLOURS)
    for label, counts in data.outcomes.items():
        colour = OUTCOME_COLOURS.get(label.lower()) or next(fallback)
        ax.bar(positions, counts, bottom=bottoms, label=_drawable(label), color=colour, width=0.7)
        bottoms = [b + c for b, c in zip(bottoms, counts, strict=True)]
    ax.set_xticks(list(positions), [_drawable(day) for day in data.days], parse_math=False)
    if not any(bottoms):
        _say_empty(ax, NO_ESCALATIONS)
        return
    for position, total in zip(positions, bottoms, strict=True):
        if total:
            ax.annotate(str(total), (position, total), xytext=(0, 2), textcoords="offset points", ha="center")
    _count_axis(ax, max(bottoms))
    legend = ax.legend(loc="upper left", ncols=min(len(data.outcomes), 3), frameon=False, fontsize=10)
    for text in legend.get_texts():
        text.set_parse_math(False)


def _draw_waits(ax: Axes, data: ChartData) -> None:
    ax.set_title("Time to decision", loc="left", fontsize=12)
    positions = list(range(len(data.wait_labels)))
    bars = ax.bar(positions, data.wait_counts, color=WAIT_COLOUR, width=0.7)
    ax.set_xticks(positions, [_drawable(label) for label in data.wait_labels], parse_math=False)
    if not any(data.wait_counts):
        _say_empty(ax, NO_DECISIONS)
        return
    ax.bar_label(bars, labels=[str(c) if c else "" for c in data.wait_counts], padding=2, fontsize=10)
    _count_axis(ax, max(data.wait_counts))


def _count_axis(ax: Axes, highest: int) -> None:
    """Whole-number ticks, with headroom above the highest bar for its label and the legend."""
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(0, highest * 1.3 + 0.5)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)


def _say_empty(ax: Axes, message: str) -> None:
    ax.set_ylim(0, 1)
    ax.set_yticks([])
    ax.spines[["top", "right", "left"]].set_visible(False)
    ax.text(0.5, 0.5, message, transform=ax.transAxes, ha="center", va="center", fontsize=13, color="#555555")


def _drawable(text: str) -> str:
    """Return `text` without the characters the font has no glyph for (emoji, mostly).

    matplotlib would draw a box for each, and warn.
    """
    glyphs = _glyphs()
    return "".join(ch for ch in text if ch.isspace() or ord(ch) in glyphs).strip()


@cache
def _glyphs() -> frozenset[int]:
    return frozenset(get_font(findfont(FontProperties())).get_charmap())
