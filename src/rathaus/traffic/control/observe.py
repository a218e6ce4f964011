"""What controllers see: detector readings per lane, and a read-only view of the layer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .safety import SafetyLayer


@dataclass(frozen=True)
class LaneReading:
    """Detector figures of one lane at one instant.

    ``queue``: halting vehicles in the stop-line area detector; ``vehicles``: all vehicles
    in it; ``occupancy``: its occupancy 0..1; ``gap``: seconds since the stop-line loop last
    detected a vehicle (large when nothing passed); ``arrivals``: for each moving vehicle
    in the area (as a tracking radar or video detector reports them), the seconds until it
    would reach the stop line unhindered, ascending (empty when the detector only counts).
    """

    queue: float = 0.0
    vehicles: float = 0.0
    occupancy: float = 0.0
    gap: float = 1e9
    arrivals: tuple[float, ...] = ()

    @property
    def moving(self) -> float:
        return max(0.0, self.vehicles - self.queue)


EMPTY = LaneReading()


@dataclass(frozen=True)
class Observation:
    """One intersection's inputs at time ``now``.

    ``lanes`` covers incoming and outgoing lanes; ``upstream`` gives, per incoming lane,
    the vehicles expected to arrive soon because a neighbouring intersection releases
    them now (coordination); ``stale`` lists lanes whose detectors failed or report gaps
    (controllers treat them as permanently demanding so nobody is stranded).
    """

    now: float
    lanes: Mapping[str, LaneReading] = field(default_factory=dict)
    upstream: Mapping[str, float] = field(default_factory=dict)
    stale: frozenset[str] = frozenset()

    def lane(self, lane: str) -> LaneReading:
        return self.lanes.get(lane, EMPTY)


class LayerView:
    """Read-only view of a :class:`SafetyLayer` handed to controllers."""

    __slots__ = ("_layer",)

    def __init__(self, layer: SafetyLayer) -> None:
        self._layer = layer

    @property
    def phase(self) -> int | None:
        return self._layer.phase

    @property
    def target(self) -> int | None:
        return self._layer.target

    def green_time(self, now: float) -> float:
        return self._layer.green_time(now)

    def can_switch(self, now: float) -> bool:
        return self._layer.can_switch(now)
