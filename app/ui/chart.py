"""The weekly series as lines of an inline SVG chart: coordinates only, drawn by the template."""

from collections.abc import Sequence
from dataclasses import dataclass

from app.dashboard.schemas import WeekPoint

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 12, 28
MAX_DOTS = 60
SERIES = (("received", "Received"), ("accepted", "Accepted now"), ("rejected", "Rejected now"))


@dataclass(frozen=True)
class Line:
    name: str
    label: str
    points: str  # "x,y x,y ..." for <polyline>
    dots: list[tuple[float, float]]  # drawn as well while weeks are few (one is no line)


@dataclass(frozen=True)
class Tick:
    position: float
    text: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    lines: list[Line]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    plot_left: int
    plot_right: int
    plot_top: int
    plot_bottom: int


def _nice_top(value: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten at or above value (at least 1)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def weekly_chart(weeks: Sequence[WeekPoint]) -> Chart:
    top = _nice_top(max((w.received for w in weeks), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    span = max(len(weeks) - 1, 1)

    def x(index: int) -> float:
        return round(LEFT + plot_w * index / span, 1)

    def y(value: int) -> float:
        return round(TOP + plot_h * (1 - value / top), 1)

    lines = []
    for name, label in SERIES:
        points = [(x(i), y(getattr(week, name))) for i, week in enumerate(weeks)]
        text = " ".join(f"{px},{py}" for px, py in points)
        lines.append(Line(name, label, text, points if len(points) <= MAX_DOTS else []))
    parts = 5 if top >= 5 else top  # whole numbers on every tick
    y_ticks = [
        Tick(y(top * part // parts), f"{top * part // parts:,}") for part in range(parts + 1)
    ]
    every = max(len(weeks) // 6, 1)
    x_ticks = [Tick(x(i), week.week.isoformat()) for i, week in enumerate(weeks) if i % every == 0]
    return Chart(WIDTH, HEIGHT, lines, y_ticks, x_ticks, LEFT, WIDTH - RIGHT, TOP, HEIGHT - BOTTOM)
