"""Intersections, signal groups, phases and the intergreen matrix.

A *signal group* is one signal head (in SUMO: one link index of a traffic light).
A *phase* is a set of groups that are green together. The *intergreen matrix* gives,
for every ordered pair of conflicting groups (clearing, entering), the minimum time
from the end of the clearing group's green to the start of the entering group's green
(German "Zwischenzeit"); it always includes the clearing group's yellow.
Pairs absent from the matrix are compatible (may be green together).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class ModelError(ValueError):
    """An intersection definition that could lead to an unsafe signal state."""


class GroupKind(StrEnum):
    VEHICLE = "vehicle"
    PEDESTRIAN = "pedestrian"
    BICYCLE = "bicycle"
    TRAM = "tram"


@dataclass(frozen=True)
class SignalGroup:
    """One signal head: its index in the controller's state string, yellow and minimum green."""

    index: int
    name: str = ""
    kind: GroupKind = GroupKind.VEHICLE
    yellow: float = 3.0
    min_green: float = 5.0
    #: Incoming lanes whose vehicles this group releases (for detectors and priority).
    lanes: tuple[str, ...] = ()
    #: Lanes this group's vehicles leave on (for max-pressure and coordination).
    out_lanes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Phase:
    """Groups green together, with the phase's minimum and maximum green in seconds.

    ``letters`` optionally maps a group to the green letter shown in SUMO (``G`` for
    priority green, ``g`` for green that must yield).
    """

    name: str
    greens: frozenset[int]
    min_green: float = 5.0
    max_green: float = 60.0
    letters: Mapping[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Intersection:
    """A signalised intersection. Build it with :func:`intersection_build` to get it checked."""

    id: str
    groups: tuple[SignalGroup, ...]
    phases: tuple[Phase, ...]
    intergreen: Mapping[tuple[int, int], float]
    #: Ordered pairs (clearing, entering) of groups whose paths through the junction
    #: cross or merge, from the network's geometry (empty when it is not known). While a
    #: cyclist released by the clearing group is still inside the junction, the safety
    #: layer holds the entering group's green a little beyond the intergreen.
    crossing_paths: frozenset[tuple[int, int]] = frozenset()

    def conflicts(self, a: int, b: int) -> bool:
        return (a, b) in self.intergreen or (b, a) in self.intergreen

    def group(self, index: int) -> SignalGroup:
        return self.groups[index]

    def phase_min_green(self, phase: int) -> float:
        """The phase's minimum green, raised to the minimum of every group in it (pedestrians)."""
        p = self.phases[phase]
        return max([p.min_green, *(self.groups[g].min_green for g in p.greens)])

    def switch_time(self, src: int, dst: int) -> float:
        """Seconds from leaving phase ``src`` until every group of ``dst`` may be green:
        the longest intergreen from a group that ends to a conflicting group that starts."""
        ending = self.phases[src].greens - self.phases[dst].greens
        starting = self.phases[dst].greens - self.phases[src].greens
        return max(
            (self.intergreen.get((a, b), 0.0) for a in ending for b in starting), default=0.0
        )

    def phases_serving(self, group: int) -> list[int]:
        return [i for i, p in enumerate(self.phases) if group in p.greens]

    def phases_serving_lane(self, lane: str) -> list[int]:
        return [
            i
            for i, p in enumerate(self.phases)
            if any(lane in self.groups[g].lanes for g in p.greens)
        ]


def intersection_build(
    *,
    id: str,
    groups: Iterable[SignalGroup],
    phases: Iterable[Phase],
    intergreen: Mapping[tuple[int, int], float],
    crossing_paths: Iterable[tuple[int, int]] = (),
) -> Intersection:
    """Check and build an intersection; raises :class:`ModelError` on anything unsafe.

    Checks: group indices are 0..n-1; every phase has at least one green and only known
    groups; no two greens of one phase conflict; each intergreen is at least the clearing
    group's yellow; the conflict relation is symmetric; min green <= max green; crossing
    paths name two different known groups.
    """
    groups_t = tuple(sorted(groups, key=lambda g: g.index))
    if not groups_t:
        raise ModelError("An intersection needs at least one signal group.")
    if [g.index for g in groups_t] != list(range(len(groups_t))):
        raise ModelError("Signal group indices must be 0..n-1 without gaps or duplicates.")
    for g in groups_t:
        if g.yellow < 0 or g.min_green < 0:
            raise ModelError(f"Signal group {g.index}: negative yellow or minimum green.")
        if g.kind != GroupKind.PEDESTRIAN and g.yellow < 2.0:
            raise ModelError(f"Signal group {g.index}: yellow {g.yellow} s is shorter than 2 s.")
    n = len(groups_t)
    matrix: dict[tuple[int, int], float] = {}
    for (a, b), seconds in intergreen.items():
        if not (0 <= a < n and 0 <= b < n) or a == b:
            raise ModelError(f"Intergreen ({a}, {b}) names an unknown group or the same group.")
        if (b, a) not in intergreen:
            raise ModelError(f"Intergreen ({a}, {b}) has no counterpart ({b}, {a}).")
        if seconds < groups_t[a].yellow:
            raise ModelError(
                f"Intergreen {a}->{b} of {seconds} s is shorter than the yellow of group {a}."
            )
        matrix[(a, b)] = float(seconds)
    phases_t = tuple(phases)
    if not phases_t:
        raise ModelError("An intersection needs at least one phase.")
    for p in phases_t:
        if not p.greens:
            raise ModelError(f"Phase {p.name!r} has no green signal group.")
        unknown = [g for g in p.greens if not 0 <= g < n]
        if unknown:
            raise ModelError(f"Phase {p.name!r} names unknown signal groups {sorted(unknown)}.")
        if p.min_green < 0 or p.max_green < p.min_green:
            raise ModelError(f"Phase {p.name!r}: minimum green must not exceed maximum green.")
        for a in p.greens:
            for b in p.greens:
                if a < b and ((a, b) in matrix or (b, a) in matrix):
                    raise ModelError(
                        f"Phase {p.name!r} has conflicting greens: groups {a} and {b}."
                    )
        bad = [k for k in p.letters.values() if k not in ("G", "g")]
        if bad:
            raise ModelError(f"Phase {p.name!r}: green letters must be G or g.")
    paths = frozenset((int(a), int(b)) for a, b in crossing_paths)
    for a, b in paths:
        if not (0 <= a < n and 0 <= b < n) or a == b:
            raise ModelError(f"Crossing paths ({a}, {b}) name an unknown group or the same group.")
    return Intersection(
        id=id, groups=groups_t, phases=phases_t, intergreen=matrix, crossing_paths=paths
    )


def intersection_as_data(intersection: Intersection) -> dict[str, Any]:
    """``intersection`` as plain JSON data (to keep what a simulation ran with)."""
    return {
        "id": intersection.id,
        "groups": [
            {
                "index": g.index,
                "name": g.name,
                "kind": g.kind.value,
                "yellow": g.yellow,
                "min_green": g.min_green,
                "lanes": list(g.lanes),
                "out_lanes": list(g.out_lanes),
            }
            for g in intersection.groups
        ],
        "phases": [
            {
                "name": p.name,
                "greens": sorted(p.greens),
                "min_green": p.min_green,
                "max_green": p.max_green,
                "letters": {str(k): v for k, v in p.letters.items()},
            }
            for p in intersection.phases
        ],
        "intergreen": [[a, b, s] for (a, b), s in sorted(intersection.intergreen.items())],
    }


def intersection_from_data(
    data: Mapping[str, Any], *, crossing_paths: Iterable[tuple[int, int]] = ()
) -> Intersection:
    """The intersection :func:`intersection_as_data` gave, checked again as it is built."""
    try:
        return intersection_build(
            id=str(data["id"]),
            groups=[
                SignalGroup(
                    index=int(g["index"]),
                    name=str(g["name"]),
                    kind=GroupKind(g["kind"]),
                    yellow=float(g["yellow"]),
                    min_green=float(g["min_green"]),
                    lanes=tuple(str(x) for x in g["lanes"]),
                    out_lanes=tuple(str(x) for x in g["out_lanes"]),
                )
                for g in data["groups"]
            ],
            phases=[
                Phase(
                    name=str(p["name"]),
                    greens=frozenset(int(g) for g in p["greens"]),
                    min_green=float(p["min_green"]),
                    max_green=float(p["max_green"]),
                    letters={int(k): str(v) for k, v in p["letters"].items()},
                )
                for p in data["phases"]
            ],
            intergreen={(int(a), int(b)): float(s) for a, b, s in data["intergreen"]},
            crossing_paths=crossing_paths,
        )
    except ModelError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ModelError(f"Not an intersection's data: {error!r}") from error
