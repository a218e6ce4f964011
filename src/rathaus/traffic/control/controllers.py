"""Controllers: they look at detector data and propose a phase; they never set signals.

All controllers share one signature, ``decide(obs, layer) -> phase | None``; ``None``
means "no opinion, keep what runs". The :class:`~.safety.SafetyLayer` decides whether
and when a proposal is followed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from .model import Intersection
from .observe import LayerView, Observation
from .sumonet import FixedPlan


class Controller(Protocol):
    name: str

    def decide(self, obs: Observation, layer: LayerView) -> int | None: ...


def _phase_lanes(intersection: Intersection) -> list[tuple[str, ...]]:
    """The distinct incoming lanes each phase releases."""
    return [
        tuple(sorted({lane for g in p.greens for lane in intersection.groups[g].lanes}))
        for p in intersection.phases
    ]


class FixedTime:
    """Runs a fixed plan: each phase for its green time, in order, cycle after cycle."""

    name = "fixed"

    def __init__(self, intersection: Intersection, plan: FixedPlan) -> None:
        if not plan.greens:
            raise ValueError("A fixed-time plan needs at least one phase.")
        self.intersection = intersection
        self.plan = plan
        self._step = 0

    def decide(self, obs: Observation, layer: LayerView) -> int | None:
        phase = layer.phase
        if phase is None:
            return None
        wanted, seconds = self.plan.greens[self._step]
        if phase != wanted:
            return wanted
        if layer.green_time(obs.now) >= seconds:
            self._step = (self._step + 1) % len(self.plan.greens)
            # consecutive plan entries with the same greens simply continue
            while self.plan.greens[self._step][0] == phase and len(set(self.plan.greens)) > 1:
                self._step = (self._step + 1) % len(self.plan.greens)
            return self.plan.greens[self._step][0]
        return None


class GapActuated:
    """Classic vehicle actuation: phases in a fixed order, skipped without a call,
    extended while vehicles keep crossing the stop-line loops (gap-out), ended at max green.
    """

    name = "actuated"

    def __init__(self, intersection: Intersection, *, passage: float = 3.0) -> None:
        self.intersection = intersection
        self.passage = passage
        self._lanes = _phase_lanes(intersection)

    def _call(self, obs: Observation, phase: int) -> bool:
        return any(obs.lane(lane).vehicles > 0 or lane in obs.stale for lane in self._lanes[phase])

    def _extending(self, obs: Observation, phase: int) -> bool:
        return any(
            obs.lane(lane).gap < self.passage or lane in obs.stale for lane in self._lanes[phase]
        )

    def decide(self, obs: Observation, layer: LayerView) -> int | None:
        phase = layer.phase
        if phase is None or not layer.can_switch(obs.now):
            return None
        at_max = layer.green_time(obs.now) >= self.intersection.phases[phase].max_green
        if self._extending(obs, phase) and not at_max:
            return None
        n = len(self.intersection.phases)
        for k in range(1, n):
            candidate = (phase + k) % n
            if self._call(obs, candidate):
                return candidate
        return (phase + 1) % n if at_max else None


class MaxPressure:
    """Max-pressure (Varaiya): after each minimum green, the phase with the largest sum of
    (vehicles upstream - vehicles downstream) over its movements gets the green."""

    name = "max_pressure"

    def __init__(self, intersection: Intersection) -> None:
        self.intersection = intersection

    def pressure(self, obs: Observation, phase: int) -> float:
        total = 0.0
        for g in self.intersection.phases[phase].greens:
            group = self.intersection.groups[g]
            inflow = sum(obs.lane(lane).vehicles for lane in group.lanes)
            outflow = sum(obs.lane(lane).vehicles for lane in group.out_lanes)
            total += inflow - outflow
        return total

    def decide(self, obs: Observation, layer: LayerView) -> int | None:
        phase = layer.phase
        if phase is None or not layer.can_switch(obs.now):
            return None
        scores = [self.pressure(obs, p) for p in range(len(self.intersection.phases))]
        best = max(range(len(scores)), key=lambda p: (scores[p], p == phase))
        return best if best != phase else None


@dataclass(frozen=True)
class AdaptiveSettings:
    """Parameters of :class:`Adaptive`; the defaults are general, not tuned per network."""

    #: A lane counts as discharging while its stop-line loop saw a vehicle this recently.
    gap_out: float = 2.0
    #: Weight of moving vehicles in the detection area (they arrive within seconds).
    moving_weight: float = 1.0
    #: Weight of vehicles a neighbour is releasing towards us (coordination).
    upstream_weight: float = 0.35
    #: Seconds after which a waiting phase's demand counts double (no starvation).
    age_scale: float = 120.0
    #: How much more demand another phase needs before it may cut a discharging phase.
    preempt_ratio: float = 2.5
    #: Moving vehicles in a lane's detection area that keep the green for their arrival.
    approach_min: float = 1.0
    #: Share of demand counted for a phase dominated by a larger one (protected turns).
    dominated_weight: float = 0.5
    #: Free-flowing arrivals keep the green unless others' demand exceeds theirs this much.
    approach_ratio: float = 2.0
    #: Judge gap-out on lanes with protected movements only.
    protected_gap: bool = True
    #: Occupancy of all exit lanes above which a movement is blocked (spillback).
    spillback: float = 0.85


class Adaptive:
    """Demand-responsive control with coordination.

    Each candidate phase is scored by its queued vehicles, vehicles moving in the
    detection area and vehicles released towards it by upstream neighbours; movements
    whose exits are full (spillback) do not count. The running phase keeps green while
    its lanes still discharge (gap-out) unless another phase has far more demand; when it
    gaps out, the highest-scoring phase follows, phases without demand are skipped, and
    waiting time raises a phase's score so every demand is served within bounded time.
    """

    name = "adaptive"

    def __init__(
        self,
        intersection: Intersection,
        settings: AdaptiveSettings | None = None,
    ) -> None:
        self.intersection = intersection
        self.settings = settings or AdaptiveSettings()
        self._lanes = _phase_lanes(intersection)
        # A lane shared by several movements counts for a phase in proportion to the
        # movements the phase releases, so a protected-turn phase is not chosen for the
        # straight-ahead queue of a shared lane.
        per_lane: dict[str, int] = {}
        for g in intersection.groups:
            for lane in g.lanes:
                per_lane[lane] = per_lane.get(lane, 0) + 1
        self._weights: list[dict[str, float]] = []
        for p in intersection.phases:
            weights: dict[str, float] = {}
            for index in p.greens:
                for lane in intersection.groups[index].lanes:
                    weights[lane] = weights.get(lane, 0.0) + 1.0 / per_lane[lane]
            self._weights.append(weights)
        # Lanes with a protected (``G``) movement in the phase; yielding movements trickle
        # and would keep a green alive without serving a platoon.
        self._protected: list[tuple[str, ...]] = [
            tuple(
                sorted(
                    {
                        lane
                        for g in p.greens
                        if p.letters.get(g, "G") == "G"
                        for lane in intersection.groups[g].lanes
                    }
                    or set(self._lanes[i])
                )
            )
            for i, p in enumerate(intersection.phases)
        ]
        self._exits: dict[str, tuple[str, ...]] = {}
        for g in intersection.groups:
            for lane in g.lanes:
                self._exits[lane] = tuple(sorted(set(self._exits.get(lane, ())) | set(g.out_lanes)))
        self._served = [0.0] * len(intersection.phases)
        # A phase whose greens are a subset of another phase's (typically a protected
        # turn that the other phase serves permissively) costs an extra intergreen for
        # little extra service; its demand counts only partly.
        self._dominated = [
            any(other is not p and p.greens < other.greens for other in intersection.phases)
            for p in intersection.phases
        ]

    def _lane_demand(self, obs: Observation, lane: str) -> float:
        s = self.settings
        if lane in obs.stale:
            return 1.0
        reading = obs.lane(lane)
        exits = self._exits.get(lane, ())
        if exits and all(obs.lane(x).occupancy >= s.spillback for x in exits):
            return 0.0
        return (
            reading.queue
            + s.moving_weight * reading.moving
            + s.upstream_weight * obs.upstream.get(lane, 0.0)
        )

    def score(self, obs: Observation, phase: int) -> float:
        total = sum(w * self._lane_demand(obs, lane) for lane, w in self._weights[phase].items())
        return total * self.settings.dominated_weight if self._dominated[phase] else total

    def discharging(self, obs: Observation, phase: int) -> int:
        """2 while a lane of the phase still discharges (vehicles crossing the stop line
        closely), 1 when only free-flowing vehicles approach, 0 when the phase is idle."""
        s = self.settings
        lanes = self._protected[phase] if s.protected_gap else self._lanes[phase]
        approaching = False
        for lane in lanes:
            reading = obs.lane(lane)
            if reading.gap < s.gap_out and reading.vehicles > 0:
                return 2
            if reading.moving >= s.approach_min:
                approaching = True
        return 1 if approaching else 0

    def decide(self, obs: Observation, layer: LayerView) -> int | None:
        phase = layer.phase
        now = obs.now
        if phase is None:
            return None
        self._served[phase] = now
        if not layer.can_switch(now):
            return None
        s = self.settings
        count = len(self.intersection.phases)
        scores = [self.score(obs, p) for p in range(count)]
        urgency = [
            scores[p] * (1.0 + (now - self._served[p]) / s.age_scale) if p != phase else 0.0
            for p in range(count)
        ]
        best = max(range(count), key=lambda p: urgency[p])
        at_max = layer.green_time(now) >= self.intersection.phases[phase].max_green
        if best == phase or scores[best] <= 0:
            # nobody else waits: rest in green (the layer still ends it at max green)
            return (phase + 1) % count if at_max and count > 1 else None
        state = self.discharging(obs, phase)
        if at_max or state == 0:
            return best
        if state == 1 and urgency[best] > scores[phase] * s.approach_ratio:
            return best
        if urgency[best] > s.preempt_ratio * max(scores[phase], 1.0):
            return best
        return None


ControllerFactory = Callable[[Intersection, FixedPlan], Controller]

CONTROLLERS: dict[str, ControllerFactory] = {
    "fixed": lambda i, plan: FixedTime(i, plan),
    "actuated": lambda i, plan: GapActuated(i),
    "max_pressure": lambda i, plan: MaxPressure(i),
    "adaptive": lambda i, plan: Adaptive(i),
}
