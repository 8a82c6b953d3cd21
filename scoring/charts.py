"""
Server-side SVG charts: the coordinates are computed here and the template
draws them, so pages need no JavaScript library and no external service.
"""

from dataclasses import dataclass, field
from decimal import Decimal


@dataclass
class Point:
    x: float
    y: float
    label: str  # under the axis (the year)
    value: str  # next to the dot


@dataclass
class LineChart:
    width: int
    height: int
    points: list[Point]
    gridlines: list[tuple[float, str]] = field(default_factory=list)  # (y, label)
    left: int = 40
    bottom: int = 24

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


def line_chart(
    values: list[tuple[str, Decimal | int | None]],
    *,
    width: int = 560,
    height: int = 200,
    low: Decimal | int | None = None,
    high: Decimal | int | None = None,
    invert: bool = False,
    steps: int = 4,
    fmt=str,
) -> LineChart:
    """
    A line through ``values`` [(label, value)], skipping missing values. ``invert``
    puts low values at the top (ranks: 1 is best). The vertical range is
    ``low``..``high`` or the values' own range.
    """
    chart = LineChart(width=width, height=height, points=[])
    known = [v for _, v in values if v is not None]
    if not known:
        return chart
    low = min(known) if low is None else low
    high = max(known) if high is None else high
    if high == low:
        high = low + 1
    top, plot_h = 10, height - chart.bottom - 10
    plot_w = width - chart.left - 20
    step_x = plot_w / max(len(values) - 1, 1)

    def y_of(value) -> float:
        share = float((Decimal(value) - Decimal(low)) / (Decimal(high) - Decimal(low)))
        return top + (share if invert else 1 - share) * plot_h

    for i in range(steps + 1):
        value = Decimal(low) + (Decimal(high) - Decimal(low)) * i / steps
        chart.gridlines.append((y_of(value), fmt(value)))
    for i, (label, value) in enumerate(values):
        if value is not None:
            chart.points.append(Point(chart.left + i * step_x, y_of(value), label, fmt(value)))
    return chart
