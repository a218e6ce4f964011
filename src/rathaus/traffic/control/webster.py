"""Webster's method: cycle length and green splits from counted flows.

``C0 = (1.5 L + 5) / (1 - Y)`` with ``Y`` the sum of the critical flow ratios
``y = q / s`` of the phases and ``L`` the lost time per cycle (intergreens plus start-up
loss); effective greens split ``C0 - L`` in proportion to ``y``. The cycle is kept within
the intersection's limits and every green at least at the phase's minimum.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .model import ModelError

START_UP_LOSS = 2.0


@dataclass(frozen=True)
class WebsterPhase:
    flow: float  # critical flow of the phase, vehicles per hour
    saturation: float  # saturation flow of that movement, vehicles per hour of green
    intergreen: float  # intergreen before the next phase, seconds
    min_green: float = 5.0


@dataclass(frozen=True)
class WebsterPlan:
    cycle: float
    greens: tuple[float, ...]
    flow_ratio: float
    oversaturated: bool


def webster(
    phases: Sequence[WebsterPhase], *, cycle_min: float = 30.0, cycle_max: float = 120.0
) -> WebsterPlan:
    """Compute a fixed-time plan; raises :class:`ModelError` on impossible input."""
    if not phases:
        raise ModelError("Webster's method needs at least one phase.")
    if cycle_min <= 0 or cycle_max < cycle_min:
        raise ModelError("The cycle limits are inconsistent.")
    for p in phases:
        if p.flow < 0 or p.saturation <= 0 or p.intergreen < 0 or p.min_green < 0:
            raise ModelError("Flows must not be negative and saturation flows must be positive.")
        if p.flow > p.saturation:
            raise ModelError("A flow exceeds its saturation flow.")
    ratios = [p.flow / p.saturation for p in phases]
    total = sum(ratios)
    lost = sum(p.intergreen + START_UP_LOSS for p in phases)
    oversaturated = total >= 0.95
    cycle = cycle_max if oversaturated else (1.5 * lost + 5.0) / (1.0 - total)
    cycle = min(max(cycle, cycle_min, lost + sum(p.min_green for p in phases)), cycle_max)
    effective = cycle - lost
    if effective < sum(p.min_green for p in phases) - START_UP_LOSS * len(phases):
        raise ModelError("The maximum cycle cannot hold the minimum greens and intergreens.")
    shares = [1.0 / len(phases)] * len(phases) if total <= 0 else [r / total for r in ratios]
    # displayed green = effective green + the start-up loss it contains
    greens = [
        max(p.min_green, effective * share + START_UP_LOSS)
        for p, share in zip(phases, shares, strict=True)
    ]
    # minimum greens may have pushed the sum over the cycle: take it from the largest
    excess = sum(greens) + sum(p.intergreen for p in phases) - cycle
    while excess > 0.01:
        i = max(range(len(greens)), key=lambda k: greens[k] - phases[k].min_green)
        room = greens[i] - phases[i].min_green
        if room <= 0:
            break
        cut = min(room, excess)
        greens[i] -= cut
        excess -= cut
    cycle = sum(greens) + sum(p.intergreen for p in phases)
    return WebsterPlan(
        cycle=round(cycle, 1),
        greens=tuple(round(g, 1) for g in greens),
        flow_ratio=round(total, 3),
        oversaturated=oversaturated,
    )
