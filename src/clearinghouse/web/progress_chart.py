"""Geometry of the dashboard's remediation chart: where each period's points go in an inline
SVG (pure).

The page draws it with presentation attributes only (``points``, ``cx``, ``cy``), because the
Content-Security-Policy forbids inline styles and scripts; colours come from CSS classes. The
same numbers are also given as a table and a sentence, so nothing is said by the drawing alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

WIDTH = 640
HEIGHT = 240
LEFT, RIGHT, TOP, BOTTOM = 44, 16, 16, 40
SERIES = ("open", "resolved")


@dataclass(frozen=True, slots=True)
class Dot:
    x: float
    y: float
    value: int
    label: str  # the period's date


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    left: int
    right: int  # x of the plot's right edge
    top: int
    bottom: int  # y of the plot's baseline
    ticks: list[tuple[float, int]]  # (y, value) of the horizontal grid lines
    lines: dict[str, str]  # series -> polyline ``points``
    dots: dict[str, list[Dot]]
    labels: list[tuple[float, str]]  # (x, date) under each period


def nice_top(value: int) -> int:
    """The smallest of 4, 8, 12, 16, 20, 40, 60, 80, 120 … at or above ``value``: a multiple
    of 4, so the grid lines at each quarter fall on whole numbers."""
    scale = 1
    while True:
        for top in (4, 8, 12, 16, 20, 40, 60, 80):
            if top * scale >= value:
                return top * scale
        scale *= 10


def chart(points: Sequence[Mapping[str, Any]]) -> Chart:
    """Coordinates for ``points`` (each with ``date``, ``open`` and ``resolved``)."""
    top = nice_top(max([1, *(int(p[s]) for p in points for s in SERIES)]))
    right, bottom = WIDTH - RIGHT, HEIGHT - BOTTOM
    span = right - LEFT
    step = span / (len(points) - 1) if len(points) > 1 else 0.0

    def x(i: int) -> float:
        return round(LEFT + step * i if len(points) > 1 else LEFT + span / 2, 1)

    def y(value: int) -> float:
        return round(bottom - (bottom - TOP) * value / top, 1)

    dots = {
        series: [
            Dot(x=x(i), y=y(int(p[series])), value=int(p[series]), label=str(p["date"]))
            for i, p in enumerate(points)
        ]
        for series in SERIES
    }
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        right=right,
        top=TOP,
        bottom=bottom,
        ticks=[(y(top * q // 4), top * q // 4) for q in range(5)],
        lines={
            series: " ".join(f"{d.x},{d.y}" for d in series_dots)
            for series, series_dots in dots.items()
        },
        dots=dots,
        labels=[(x(i), str(p["date"])[5:]) for i, p in enumerate(points)],
    )
