"""Controllers: they look at detector data and propose a phase; they never set signals.

All controllers share one signature, ``decide(obs, layer) -> phase | None``; ``None``
means "no opinion, keep what runs". The :class:`~.safety.SafetyLayer` decides whether
and when a proposal is followed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

from .model import Intersection, ModelError
from .observe import LayerView, Observation
from .safety import SafetyLayer
from .sumonet import FixedPlan
from .timetable import Calendar, TimedPlan, in_force, timetable_check


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
    """Runs a fixed plan on its cycle clock, as a field controller does.

    The second of the cycle is ``(now - offset) mod cycle``; the plan says which phase is
    green then, and in the transition after a green the next one is proposed. Each green
    begins where the plan has it, so the cycle and the offset hold and neighbouring plans
    keep their green wave (``holds_plan``). A green the layer starts late (a bus's early
    green, a cyclist still clearing) ends on time.

    Where the safety layer needs longer for a transition than the plan leaves (a plan
    drawn per signal group lets groups run on into a transition, the layer clears them
    first) or a green is longer than its phase's maximum, the plan cannot be held. Then,
    as for a plan without its own schedule, the greens run in order, each for its full
    time from when the layer shows it, and ``cycle`` is what a cycle of that takes
    (``planned_cycle``: what the plan was drawn for).
    """

    name = "fixed"

    def __init__(self, intersection: Intersection, plan: FixedPlan) -> None:
        if not plan.greens:
            raise ValueError("A fixed-time plan needs at least one phase.")
        if any(not 0 <= phase < len(intersection.phases) for phase, _ in plan.greens):
            raise ValueError("A fixed-time plan names a phase the intersection does not have.")
        self.intersection = intersection
        self.plan = plan
        # consecutive entries with the same phase are one green
        entries: list[tuple[int, float, float]] = []
        for k, (phase, seconds) in enumerate(plan.greens):
            start = plan.starts[k] if plan.starts else 0.0
            if entries and entries[-1][0] == phase:
                entries[-1] = (phase, entries[-1][1] + seconds, entries[-1][2])
            else:
                entries.append((phase, seconds, start))
        if len(entries) > 1 and entries[0][0] == entries[-1][0]:
            # the program begins in the middle of the green it ends with
            phase, seconds, start = entries.pop()
            entries[0] = (phase, seconds + entries[0][1], start)
        self._entries = [(phase, seconds) for phase, seconds, _ in entries]
        self.planned_cycle = plan.cycle if plan.starts else 0.0
        self._starts = [start for _, _, start in entries]
        self.cycle = self.planned_cycle
        #: Whether the layer runs the plan's own schedule: every green begins when the
        #: plan says, and none is cut at its phase's maximum.
        self.holds_plan = bool(self.planned_cycle) and self._runs_as_drawn()
        if not self.holds_plan:
            # the greens in order at the layer's pace: what a cycle of that takes
            self.cycle = sum(s for _, s in self._entries) + sum(self._transitions())
        self._step = 0
        #: Cycles completed when the greens run in order.
        self._rounds = 0

    def _runs_as_drawn(self) -> bool:
        """Run the plan on its cycle clock through a layer of its own for three cycles;
        whether in the last one every green begins on time and none is forced to end."""
        layer = SafetyLayer(
            self.intersection, now=self.plan.offset, start_phase=self._entries[0][0]
        )
        due = {
            math.ceil(2 * self.cycle + start): phase
            for (phase, seconds), start in zip(self._entries, self._starts, strict=True)
            if math.ceil(start) < start + seconds
        }
        for second in range(math.ceil(3 * self.cycle)):
            now = self.plan.offset + second
            wanted = self.wanted(now)
            layer.step(now, wanted if layer.phase not in (None, wanted) else None)
            if second in due and layer.phase != due[second]:
                return False
        return layer.forced == 0

    def _transitions(self) -> list[float]:
        """Seconds the safety layer takes from each green of the plan to the next, as it
        runs the plan's greens in order (measured on a layer of its own over a few
        cycles, so that clearances carried over from earlier transitions count)."""
        entries = self._entries
        count = len(entries)
        if count == 1:
            return [0.0]
        layer = SafetyLayer(self.intersection, start_phase=entries[0][0])
        measured: list[float | None] = [None] * count
        ended: list[float] = [0.0] * count
        k, since, rounds, now = 0, None, 0, 0.0
        limit = 4 * sum(s + 60.0 for _, s in entries)
        while rounds < 3 and now < limit:
            phase, seconds = entries[k]
            if since is not None and layer.phase == phase and now - since >= seconds:
                ended[k] = now
                k, since = (k + 1) % count, None
                rounds += k == 0
            layer.step(now, entries[k][0])
            if since is None and layer.phase == entries[k][0]:
                since = now
                if rounds:
                    measured[k - 1] = now - ended[k - 1]
            now += 1.0
        return [
            value
            if value is not None
            else self.intersection.switch_time(entries[k][0], entries[(k + 1) % count][0])
            for k, value in enumerate(measured)
        ]

    def wanted(self, now: float) -> int:
        """The phase the plan wants green at ``now``: the one whose green it is, or, in
        the transition after a green, the next one."""
        if len(self._entries) == 1:
            return self._entries[0][0]
        second = (now - self.plan.offset) % self.cycle
        count = len(self._entries)
        # the green begun last: the latest start not after ``second`` (cyclically)
        k = min(range(count), key=lambda i: (second - self._starts[i]) % self.cycle)
        phase, seconds = self._entries[k]
        if (second - self._starts[k]) % self.cycle < seconds:
            return phase
        return self._entries[(k + 1) % count][0]

    def decide(self, obs: Observation, layer: LayerView) -> int | None:
        phase = layer.phase
        if phase is None:
            return None
        if not self.holds_plan:
            return self._in_order(obs.now, phase, layer)
        wanted = self.wanted(obs.now)
        return wanted if wanted != phase else None

    def _in_order(self, now: float, phase: int, layer: LayerView) -> int | None:
        """Each green for its full time from when the layer shows it, then the next."""
        wanted, seconds = self._entries[self._step]
        if phase != wanted:
            return wanted
        if layer.green_time(now) >= seconds:
            self._step = (self._step + 1) % len(self._entries)
            self._rounds += self._step == 0
            return self._entries[self._step][0] if len(self._entries) > 1 else None
        return None

    def cycles(self, now: float) -> int:
        """How many cycles have begun by ``now``: on the cycle clock, counted from the
        reference time; with the greens in order, the rounds completed."""
        if self.holds_plan:
            return math.floor((now - self.plan.offset) / self.cycle)
        return self._rounds

    def restart(self) -> None:
        """Begin again with the first green (when the plan comes into force again; on
        the cycle clock the clock says where the plan stands)."""
        self._step = 0


class Timetabled:
    """Fixed-time control by time of day (Tagesautomatik): the plan in force runs as
    :class:`FixedTime` runs it; at times no plan covers, ``base``, the intersection's
    base program.

    When another plan comes into force, the running one first completes its cycle, as a
    field controller changes programs at the end of a cycle rather than in the middle of
    a green; after two of its cycles at the latest the change happens anyway. The safety
    layer keeps the change itself safe like any other transition.

    Plans for certain day types (weekdays, public holidays) need the ``calendar`` of the
    clock's dates.
    """

    name = "fixed"

    def __init__(
        self,
        intersection: Intersection,
        plans: Sequence[TimedPlan],
        base: FixedPlan,
        calendar: Calendar | None = None,
    ) -> None:
        timetable_check(plans)
        if calendar is None and not all(p.every_day for p in plans):
            raise ModelError("Plans that hold on certain days need a calendar.")
        self.calendar = calendar
        self.timetable = tuple(plans)
        self._runners = [FixedTime(intersection, p.plan) for p in self.timetable]
        self.base = FixedTime(intersection, base)
        #: The plan running now (``None`` before the first decision).
        self.running: FixedTime | None = None
        self._pending: FixedTime | None = None
        self._due_since = 0.0
        #: Cycles the running plan had begun at the last decision, and when the pending
        #: change became due.
        self._cycles_seen = 0
        self._cycles_then = 0

    def due(self, now: float) -> FixedTime:
        """The plan the timetable has in force at ``now``."""
        found = in_force(self.timetable, now, self.calendar)
        return self.base if found is None else self._runners[self.timetable.index(found)]

    def decide(self, obs: Observation, layer: LayerView) -> int | None:
        now = obs.now
        due = self.due(now)
        running = self.running
        if running is None:
            running = self.running = due
        elif due is not running:
            if self._pending is not due:
                # a cycle that begins this very second is not one the old plan must run
                self._pending, self._due_since = due, now
                self._cycles_then = self._cycles_seen
            if running.cycles(now) > self._cycles_then or now - self._due_since >= (
                2 * running.cycle
            ):
                running = self.running = due
                due.restart()
                self._pending = None
        else:
            self._pending = None
        proposal = running.decide(obs, layer)
        self._cycles_seen = running.cycles(now)
        return proposal


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

    #: Saturation headway of one lane in seconds (1800 vehicles per hour of green).
    headway: float = 2.0
    #: Start-up lost time of a standing queue when its green begins.
    start_loss: float = 2.0
    #: Vehicles crossing later than this (seconds from now) are not considered.
    horizon: float = 60.0
    #: Weight of vehicles a neighbour is releasing towards us (coordination).
    upstream_weight: float = 0.35
    #: When those vehicles are expected at the stop line (seconds).
    upstream_eta: float = 10.0
    #: Time constant (seconds) of the moving average of each lane's arrival rate.
    flow_window: float = 300.0
    #: A lane with vehicles that has had no green for this long is served next, whatever
    #: the rates say (no starvation).
    max_wait: float = 90.0
    #: A queued lane of the running phase whose stop-line loop saw no crossing for this
    #: long is blocked (a permissive turn waiting for a gap, a full exit).
    blocked_gap: float = 4.0
    #: Occupancy of all exit lanes above which a movement is blocked (spillback).
    spillback: float = 0.85


@dataclass(frozen=True)
class Plan:
    """One decision of :class:`Adaptive`: the ``proposal`` for the safety layer; ``ending``,
    the phase the rule ends the running green for when it ends it (``None`` when no other
    phase waits); ``forced``, when a rule other than the keep-or-end comparison decided
    (a starving lane, the maximum green)."""

    proposal: int | None
    ending: int | None = None
    forced: bool = False


class Adaptive:
    """Delay-minimising control with lookahead and coordination.

    For every phase the controller predicts when the vehicles it would release cross the
    stop line: queued vehicles at the saturation headway after the intergreen and a
    start-up loss, tracked moving vehicles at their arrival time (or a headway behind the
    vehicle ahead), vehicles released by upstream neighbours later. Serving phase ``j``
    next yields ``N_j`` vehicles in ``T_j`` seconds including the intergreens there and
    back; its *rate* is the best ``N_j / T_j`` over all look-ahead horizons.

    Keeping the running phase ``s`` for ``t`` more seconds (serving ``N_s(t)``) delays
    each of ``j``'s ``N_j`` vehicles and the ``λ_j t / 2`` arriving meanwhile on average by
    ``t``; switching now delays each of those ``N_s(t)`` vehicles by ``T_j``. The running
    phase keeps the green while some ``t`` has ``N_s(t) T_j > t (N_j + λ_j t / 2)`` (the
    exchange argument behind the cµ rule for queues with switch-over times, as in Lämmer
    and Helbing's self-controlled signals), else the phase with the best rate follows.
    A phase without demand is skipped; a phase whose greens the running phase already
    shows is no candidate (it releases nobody new) unless it protects a permissive turn
    whose queue stands blocked; a lane that waits ``max_wait`` with vehicles is served
    next; movements whose exits are full (spillback) and lanes of the running phase that
    hold a queue but do not discharge do not count. A phase with standing permissive turns
    may end through its protected-turn phase (:meth:`_lagging`); from there the rule
    chooses afresh.
    """

    name = "adaptive"

    def __init__(
        self,
        intersection: Intersection,
        settings: AdaptiveSettings | None = None,
    ) -> None:
        self.intersection = intersection
        self.settings = settings or AdaptiveSettings()
        # A lane shared by several movements counts for a phase in proportion to the
        # movements the phase releases, so a protected-turn phase is not credited with the
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
        self._exits: dict[str, tuple[str, ...]] = {}
        for g in intersection.groups:
            for lane in g.lanes:
                self._exits[lane] = tuple(sorted(set(self._exits.get(lane, ())) | set(g.out_lanes)))
        count = len(intersection.phases)
        phases = intersection.phases
        self._switch = [[self.switch_time(a, b) for b in range(count)] for a in range(count)]
        # Leaving a phase for one whose greens it already shows releases nobody new, it
        # only takes green away; except a phase that protects movements the running
        # phase lets go only permissively (a protected turn after its opposing flow):
        # it serves their lanes when they stand blocked.
        self._candidates = [
            [b for b in range(count) if not phases[b].greens <= phases[a].greens]
            for a in range(count)
        ]
        self._protects: list[list[tuple[int, frozenset[str], float]]] = []
        for a, pa in enumerate(phases):
            found = []
            for b, pb in enumerate(phases):
                if b == a or not pb.greens <= pa.greens:
                    continue
                turned = frozenset(
                    lane
                    for g in pb.greens
                    if pb.letters.get(g, "G") == "G" and pa.letters.get(g, "G") == "g"
                    for lane in intersection.groups[g].lanes
                )
                clear = max(
                    (intersection.groups[g].yellow for g in pa.greens - pb.greens), default=0.0
                )
                if turned:
                    found.append((b, turned, clear))
            self._protects.append(found)
        #: Per lane, the phases that release it; per phase, the lanes it releases with
        #: protected greens only (no yielding).
        self._serving: dict[str, list[int]] = {
            lane: [j for j, w in enumerate(self._weights) if lane in w] for lane in per_lane
        }
        self._protected: list[frozenset[str]] = [
            frozenset(
                lane
                for lane in self._weights[j]
                if all(
                    p.letters.get(g, "G") == "G"
                    for g in p.greens
                    if lane in intersection.groups[g].lanes
                )
            )
            for j, p in enumerate(phases)
        ]
        #: Lanes no phase releases with protected greens only: a green is all they can
        #: get, whether or not a gap comes.
        self._unprotectable = frozenset(per_lane) - frozenset().union(*self._protected)
        #: When each lane last had a green (from the first observation on) on which it
        #: discharged.
        self._lane_served: dict[str, float] = {}
        #: Moving average of vehicles per second crossing each lane's stop line.
        self._flow: dict[str, float] = dict.fromkeys(per_lane, 0.0)
        self._last: float | None = None

    def switch_time(self, src: int, dst: int) -> float:
        """Seconds from leaving phase ``src`` until every group of ``dst`` may be green."""
        return self.intersection.switch_time(src, dst)

    def _blocked(self, obs: Observation, lane: str) -> bool:
        exits = self._exits.get(lane, ())
        return bool(exits) and all(obs.lane(x).occupancy >= self.settings.spillback for x in exits)

    def crossings(
        self,
        obs: Observation,
        phase: int,
        *,
        start: float,
        running: float | None = None,
        lanes: Collection[str] | None = None,
    ) -> list[tuple[float, float]]:
        """Predicted (seconds from now, weight) of each vehicle ``phase`` releases if its
        green begins in ``start`` seconds, by time; ``running``: seconds it has been green
        when it is the running phase."""
        s = self.settings
        found: list[tuple[float, float]] = []
        for lane, weight in self._weights[phase].items():
            if self._blocked(obs, lane) or (lanes is not None and lane not in lanes):
                continue
            first = start if running is not None else start + s.start_loss
            if lane in obs.stale:
                found.append((first + s.headway, weight))
                continue
            reading = obs.lane(lane)
            queued = round(reading.queue)
            if (
                running is not None
                and running >= s.blocked_gap
                and queued
                and reading.gap >= s.blocked_gap
            ):
                queued = 0  # standing although green: this phase does not serve it now
            last = first
            for k in range(queued):
                last = first + (k + 1) * s.headway
                if last > s.horizon:
                    break
                found.append((last, weight))
            etas = list(reading.arrivals)
            # moving vehicles a counting detector saw but could not track arrive soon
            etas.extend([s.headway] * max(0, round(reading.moving) - len(etas)))
            for eta in sorted(etas):
                last = max(eta, last + s.headway, start)
                if last > s.horizon:
                    break
                found.append((last, weight))
            upstream = obs.upstream.get(lane, 0.0) * s.upstream_weight
            if upstream > 0:
                last = max(s.upstream_eta, last + s.headway, start)
                if last <= s.horizon:
                    found.append((last, weight * upstream))
        found.sort()
        return found

    def score(self, obs: Observation, phase: int) -> float:
        """Demand of ``phase``: vehicles it would release within the horizon."""
        return sum(w for _, w in self.crossings(obs, phase, start=0.0))

    def flow(self, phase: int) -> float:
        """Estimated vehicles per second arriving on the lanes ``phase`` serves."""
        return sum(w * self._flow.get(lane, 0.0) for lane, w in self._weights[phase].items())

    def _observe(self, obs: Observation, phase: int | None) -> None:
        now = obs.now
        if self._last is None:
            self._lane_served = dict.fromkeys(self._flow, now)
        dt = 0.0 if self._last is None else max(0.0, now - self._last)
        self._last = now
        share = min(1.0, dt / self.settings.flow_window)
        for lane, rate in self._flow.items():
            crossed = 1.0 / dt if dt > 0 and obs.lane(lane).gap < dt else 0.0
            self._flow[lane] = rate + (crossed - rate) * share
        if phase is not None:
            # a lane the running phase releases only permissively counts as served while
            # it discharges or is empty, not while a turner stands at its head waiting
            # for a gap that does not come; unless no phase protects it: then this green
            # was all it could get (else the rule would call its phase back after every
            # minimum green and make the junction flicker)
            protected = self._protected[phase]
            for lane in self._weights[phase]:
                reading = obs.lane(lane)
                if (
                    lane in protected
                    or lane in self._unprotectable
                    or reading.vehicles == 0
                    or reading.gap < self.settings.blocked_gap
                ):
                    self._lane_served[lane] = now

    def _starved(self, obs: Observation, phase: int) -> int | None:
        """The phase that serves a lane which has waited ``max_wait`` with vehicles (the
        longest waiting such lane first), or ``None``. A lane of the running phase waits
        too when it does not discharge (a permissive turner standing on green); it is
        served by another phase that releases it, one that protects it first."""
        now = obs.now
        waiting = []
        for lane in self._flow:
            since = self._lane_served.get(lane, now)
            if (
                now - since >= self.settings.max_wait
                and (lane in obs.stale or obs.lane(lane).vehicles > 0)
                and not self._blocked(obs, lane)
                and self._relief(phase, lane)
            ):
                waiting.append((since, lane))
        if not waiting:
            return None
        lane = min(waiting)[1]
        return max(self._relief(phase, lane), key=lambda j: self.score(obs, j))

    def _relief(self, phase: int, lane: str) -> list[int]:
        """The phases that would serve ``lane`` better than ``phase``: any that releases
        it if ``phase`` does not; those that protect it if ``phase`` releases it only
        permissively (another permissive green would not help a turner without a gap)."""
        if lane not in self._weights[phase]:
            return self._serving[lane]
        return [j for j in self._serving[lane] if j != phase and lane in self._protected[j]]

    def decide(self, obs: Observation, layer: LayerView) -> int | None:
        return self.plan(obs, layer).proposal

    def plan(self, obs: Observation, layer: LayerView, *, alternative: bool = False) -> Plan:
        """The rule's decision; with ``alternative``, also the phase it would end the green
        for when it keeps it (what a look-ahead may weigh against keeping, see
        ``bench/traffic_rollout.py``). Without, a kept green's ``ending`` is ``None``: the
        controller itself has no use for it, and it costs a look at the protected turns."""
        phase = layer.phase
        now = obs.now
        self._observe(obs, phase)
        if phase is None or not layer.can_switch(now):
            return Plan(None)
        starved = self._starved(obs, phase)
        if starved is not None:
            return Plan(starved, forced=True)
        # the candidate serving most vehicles per second, intergreens there and back
        # included, over its best horizon
        best, served, span = None, 0.0, 1.0
        for j in self._candidates[phase]:
            found = self.crossings(obs, j, start=self._switch[phase][j])
            back = self._switch[j][phase]
            count = 0.0
            for t, weight in found:
                count += weight
                if best is None or count * span > served * (t + back):
                    best, served, span = j, count, t + back
        green = layer.green_time(now)
        for j, turned, clear in self._protects[phase]:
            standing = self._standing(obs, turned)
            if not standing or green < self.settings.blocked_gap:
                continue
            found = self.crossings(obs, j, start=clear, lanes=standing)
            count = 0.0
            for t, weight in found:
                count += weight
                if best is None or count * span > served * t:
                    best, served, span = j, count, t
        at_max = green >= self.intersection.phases[phase].max_green
        if best is None:
            # nobody else waits: rest in green (the layer still ends it at max green)
            if at_max and self._candidates[phase]:
                return Plan(self._candidates[phase][0], forced=True)
            return Plan(None)
        if at_max:
            return Plan(self._lagging(obs, phase, best, served, span), forced=True)
        # keep while, for some horizon t, the running phase's vehicles served by then
        # would lose more by waiting for ``best`` and the way back than ``best``'s
        # vehicles (and those arriving meanwhile) lose by waiting t
        flow = self.flow(best)
        kept = 0.0
        for t, weight in self.crossings(obs, phase, start=0.0, running=green):
            kept += weight
            t = max(t, self.settings.headway)  # a vehicle needs a headway of green
            if kept * span > t * (served + flow * t / 2):
                if not alternative:
                    return Plan(None)
                return Plan(None, ending=self._lagging(obs, phase, best, served, span))
        ending = self._lagging(obs, phase, best, served, span)
        return Plan(ending, ending=ending)

    def _standing(self, obs: Observation, lanes: Collection[str]) -> list[str]:
        """The lanes among ``lanes`` with a queue that has not discharged for a while
        (permissive turners waiting for a gap)."""
        return [
            lane
            for lane in lanes
            if obs.lane(lane).queue >= 1 and obs.lane(lane).gap >= self.settings.blocked_gap
        ]

    def _lagging(self, obs: Observation, phase: int, best: int, served: float, span: float) -> int:
        """The phase to end ``phase`` with: ``best``, or first a protected-turn phase of
        ``phase`` (a lagging protected turn) when that pays.

        When the running phase ends, its permissive turns standing at the stop line would
        wait for ``best`` and the way back (``span``) and then again for a gap. Going
        through the protected phase ``j`` serves the standing turns that cross before
        ``best`` could begin (``j``'s minimum green and its clearance); it delays each of
        ``best``'s ``served`` vehicles, and those arriving meanwhile, by the extra time.
        """
        if any(best == j for j, _, _ in self._protects[phase]):
            return best
        choice, gain = best, 0.0
        flow = self.flow(best)
        for j, turned, _clear in self._protects[phase]:
            standing = self._standing(obs, turned)
            if not standing:
                continue
            through = self.intersection.phase_min_green(j) + self._switch[j][best]
            extra = max(0.0, through - self._switch[phase][best])
            found = self.crossings(obs, j, start=0.0, running=0.0, lanes=standing)
            count = sum(w for t, w in found if t <= through)
            value = count * span - extra * (served + flow * extra / 2)
            if value > gain:
                choice, gain = j, value
        return choice


ControllerFactory = Callable[[Intersection, FixedPlan], Controller]

CONTROLLERS: dict[str, ControllerFactory] = {
    "fixed": lambda i, plan: FixedTime(i, plan),
    "actuated": lambda i, plan: GapActuated(i),
    "max_pressure": lambda i, plan: MaxPressure(i),
    "adaptive": lambda i, plan: Adaptive(i),
}
