"""The safety layer: the only code that changes signal states.

Controllers *propose* a phase; :class:`SafetyLayer` decides what the signal heads show.
It enforces, whatever the proposal:

* minimum green of the running phase before it may be left, and of every group before
  that group may leave green (pedestrian minimums are group minimums); a change that only
  adds greens ends nobody's, so it need not wait for the groups that stay green (a plan
  drawn per signal group starts its groups one after the other);
* maximum green: a phase held beyond its maximum is ended in favour of the next phase;
* yellow of every group that leaves green, then the intergreen time from the end of its
  green before any conflicting group may turn green;
* a permissive green (``g``: the movement yields, e.g. a left turn to the opposing
  flow) becomes a protected green (``G``) only when every group that ended in the same
  transition has been red for its intergreen to it (or its yellow, if the two are
  compatible), as a green arrow may only start when the opposing flow has cleared;
* a transition, once started, completes before another one starts;
* clearance of cyclists: an intergreen is extended, by at most
  :data:`CYCLIST_CLEARANCE_MAX` seconds, while a cyclist released by the clearing group
  is still inside the junction on a path that crosses or merges with the entering
  group's (``Intersection.crossing_paths``; the caller reports who is inside, from
  detection over the junction area). A program's intergreens are computed for motor
  vehicles; a cyclist clearing 30-40 m at about 4 m/s (RiLSA's clearing speed) needs
  longer. The extension only ever delays a green.

Because every entering group waits until each conflicting group has been red for the
rest of its intergreen, two conflicting greens cannot occur by construction;
:class:`SafetyMonitor` re-checks any stream of state strings independently (the SUMO
harness runs it on the states the simulator actually shows, also for SUMO's own
programs).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from .model import Intersection

#: Longest extension of an intergreen while a cyclist is still inside the junction.
CYCLIST_CLEARANCE_MAX = 10.0


class Signal(StrEnum):
    RED = "r"
    YELLOW = "y"
    GREEN = "G"


@dataclass
class _Clock:
    signal: Signal
    since: float
    green_end: float
    #: While green: shows ``G`` (protected) rather than ``g`` (permissive, yields).
    protected: bool = True


class SafetyLayer:
    """Turns phase proposals into safe signal states for one intersection."""

    def __init__(self, intersection: Intersection, *, now: float = 0.0, start_phase: int = 0):
        self.intersection = intersection
        n = len(intersection.groups)
        # Start dark-red as if every group had just ended its green, so the first greens
        # honour the full intergreen times (a safe start after power-up).
        self._clocks = [_Clock(Signal.RED, now, now) for _ in range(n)]
        self._phase: int | None = None
        self._target: int | None = start_phase % len(intersection.phases)
        self._phase_since = now
        self._now = now
        #: Proposals that were not (yet) followed because a rule forbade them.
        self.refused = 0
        #: Phases ended by the layer at their maximum green.
        self.forced = 0
        #: Phase changes started.
        self.switches = 0
        #: Group-steps in which a green was held for a cyclist still inside the junction.
        self.held = 0

    # -- read-only view for controllers ------------------------------------------------
    @property
    def phase(self) -> int | None:
        """The phase whose groups are all green, or ``None`` during a transition."""
        return self._phase

    @property
    def target(self) -> int | None:
        """The phase being switched to, or ``None`` when stable."""
        return self._target

    def green_time(self, now: float) -> float:
        """Seconds the current phase has been fully green (0 during a transition)."""
        return now - self._phase_since if self._phase is not None else 0.0

    def can_switch(self, now: float) -> bool:
        """Whether a proposal to leave the current phase would be followed now."""
        if self._phase is None:
            return False
        return self._min_green_done(self._phase, now)

    def signal(self, group: int) -> Signal:
        return self._clocks[group].signal

    def state(self) -> str:
        """The SUMO state string (one letter per group)."""
        return "".join(
            ("G" if clock.protected else "g") if clock.signal is Signal.GREEN else clock.signal
            for clock in self._clocks
        )

    # -- the one entry point -----------------------------------------------------------
    def step(self, now: float, proposal: int | None, inside: Collection[int] = ()) -> str:
        """Advance to ``now`` considering the controller's ``proposal``; return the state.

        ``inside``: the groups that released a cyclist who is still inside the junction
        (from detection over the junction area; empty when there is none)."""
        if now < self._now:
            raise ValueError("Time must not run backwards.")
        self._now = now
        phases = self.intersection.phases
        if proposal is not None and not (isinstance(proposal, int) and 0 <= proposal < len(phases)):
            self.refused += 1
            proposal = None
        if self._phase is not None:
            current = self._phase
            if proposal is not None and proposal != current:
                if self._min_green_done(current, now, leaving_for=proposal):
                    self._start_transition(proposal, now)
                else:
                    self.refused += 1
            elif now - self._phase_since >= phases[current].max_green and len(phases) > 1:
                self.forced += 1
                self._start_transition((current + 1) % len(phases), now)
        elif proposal is not None and proposal != self._target:
            self.refused += 1
        self._advance(now, inside)
        return self.state()

    # -- internals ---------------------------------------------------------------------
    def _min_green_done(self, phase: int, now: float, leaving_for: int | None = None) -> bool:
        """Whether ``phase`` has had its minimum green and each of its groups its own;
        with ``leaving_for``, only the groups that phase would end need theirs (a group
        that stays green loses nothing, as when a plan drawn per signal group adds its
        groups one after the other)."""
        inter = self.intersection
        if now - self._phase_since < inter.phases[phase].min_green:
            return False
        greens = inter.phases[phase].greens
        if leaving_for is not None:
            greens = greens - inter.phases[leaving_for].greens
        return all(now - self._clocks[g].since >= inter.groups[g].min_green for g in greens)

    def _start_transition(self, target: int, now: float) -> None:
        self.switches += 1
        phase = self.intersection.phases[target]
        for g, clock in enumerate(self._clocks):
            if clock.signal is not Signal.GREEN:
                continue
            if g not in phase.greens:
                clock.signal = Signal.YELLOW
                clock.since = now
                clock.green_end = now
            elif phase.letters.get(g, "G") == "g":
                clock.protected = False  # yielding again is safe at once
        self._phase = None
        self._target = target

    def _advance(self, now: float, inside: Collection[int]) -> None:
        inter = self.intersection
        for g, clock in enumerate(self._clocks):
            if clock.signal is Signal.YELLOW and now - clock.since >= inter.groups[g].yellow:
                clock.signal = Signal.RED
                clock.since = now
        if self._target is None:
            return
        target = inter.phases[self._target]
        for g in sorted(target.greens):
            clock = self._clocks[g]
            protected = target.letters.get(g, "G") == "G"
            if clock.signal is Signal.GREEN:
                if protected and not clock.protected and self._cleared(g, now):
                    clock.protected = True
                continue
            if clock.signal is Signal.YELLOW:
                continue  # it first has to finish its own yellow
            if all(self._clear_for(c, g, now) for c in range(len(self._clocks)) if c != g):
                if inside and self._cyclist_clearing(g, inside, now):
                    self.held += 1
                    continue
                clock.signal = Signal.GREEN
                clock.since = now
                # permissive first if a compatible flow is still clearing
                clock.protected = protected and self._cleared(g, now)
        if all(
            self._clocks[g].signal is Signal.GREEN
            and self._clocks[g].protected == (target.letters.get(g, "G") == "G")
            for g in target.greens
        ):
            self._phase = self._target
            self._target = None
            self._phase_since = now

    def _cleared(self, group: int, now: float) -> bool:
        """Whether ``group`` may show a protected green: every group that is not green
        has been red for its intergreen to ``group``, or for its yellow if the two may be
        green together (it may be a flow ``group`` yields to while permissive)."""
        inter = self.intersection
        for c, clock in enumerate(self._clocks):
            if c == group or clock.signal is Signal.GREEN:
                continue
            seconds = inter.intergreen.get((c, group), inter.groups[c].yellow)
            if clock.signal is not Signal.RED or now - clock.green_end < seconds:
                return False
        return True

    def _cyclist_clearing(self, entering: int, inside: Collection[int], now: float) -> bool:
        """Whether a cyclist released by a group in ``inside`` that recently ended is still
        inside the junction on a path crossing ``entering``'s (for at most the extension)."""
        inter = self.intersection
        for c in inside:
            seconds = inter.intergreen.get((c, entering))
            if (
                seconds is not None
                and (c, entering) in inter.crossing_paths
                and now - self._clocks[c].green_end < seconds + CYCLIST_CLEARANCE_MAX
            ):
                return True
        return False

    def _clear_for(self, clearing: int, entering: int, now: float) -> bool:
        seconds = self.intersection.intergreen.get((clearing, entering))
        if seconds is None:
            return True
        clock = self._clocks[clearing]
        return clock.signal is Signal.RED and now - clock.green_end >= seconds


@dataclass(frozen=True)
class Violation:
    time: float
    kind: str
    groups: tuple[int, ...]

    def __str__(self) -> str:
        return f"{self.time:.1f}s {self.kind} {self.groups}"


class SafetyMonitor:
    """Independent check of a stream of observed state strings against an intersection.

    Counts: conflicting greens shown together; a green that is cut to red without yellow
    (for groups with a yellow); a yellow shorter than the group's yellow; a green that
    starts before the intergreen from a conflicting group has passed; a permissive green
    (``g``) that turns protected (``G``) before a group that just ended has cleared; a
    group green for less than its minimum green.
    """

    def __init__(self, intersection: Intersection) -> None:
        self.intersection = intersection
        n = len(intersection.groups)
        self._last: str | None = None
        self._green_end = [float("-inf")] * n
        self._yellow_since = [float("-inf")] * n
        self._green_since = [float("-inf")] * n
        self.violations: list[Violation] = []

    def observe(self, now: float, state: str) -> list[Violation]:
        inter = self.intersection
        found: list[Violation] = []
        prev = self._last
        n = len(inter.groups)
        if len(state) != n:
            found.append(Violation(now, "state-length", ()))
            self.violations.extend(found)
            return found
        greens = [i for i, ch in enumerate(state) if ch in "Gg"]
        for a in greens:
            for b in greens:
                if a < b and inter.conflicts(a, b):
                    found.append(Violation(now, "conflicting-greens", (a, b)))
        for i, ch in enumerate(state):
            before = prev[i] if prev is not None else "r"
            was_green = before in "Gg"
            is_green = ch in "Gg"
            if was_green and not is_green:
                self._green_end[i] = now
                if now - self._green_since[i] < inter.groups[i].min_green - 1e-6:
                    found.append(Violation(now, "min-green", (i,)))
                if ch in "y":
                    self._yellow_since[i] = now
                elif inter.groups[i].yellow > 0:
                    found.append(Violation(now, "no-yellow", (i,)))
            elif (
                before == "y"
                and ch not in "yGg"
                and now - self._yellow_since[i] < inter.groups[i].yellow - 1e-6
            ):
                found.append(Violation(now, "short-yellow", (i,)))
            if is_green and not was_green:
                self._green_since[i] = now
                if prev is not None:
                    for c in range(n):
                        seconds = inter.intergreen.get((c, i))
                        if seconds is not None and now - self._green_end[c] < seconds - 1e-6:
                            found.append(Violation(now, "intergreen", (c, i)))
        for i, ch in enumerate(state):
            if ch == "G" and prev is not None and prev[i] == "g":
                # a permissive green turned protected: whoever it yielded to has cleared
                for c in range(n):
                    if c == i or state[c] in "Gg":
                        continue
                    seconds = inter.intergreen.get((c, i), inter.groups[c].yellow)
                    if now - self._green_end[c] < seconds - 1e-6:
                        found.append(Violation(now, "protected-too-early", (c, i)))
        self._last = state
        self.violations.extend(found)
        return found
