"""Read signalised intersections from a SUMO network file (``.net.xml``).

Each traffic light becomes an :class:`~.model.Intersection`: one signal group per link
index (with the lanes it releases), one phase per distinct green state of the network's
own program, and the intergreen matrix. SUMO files carry no conflict matrix for
traffic lights, so two groups are treated as conflicting when the program never shows
them green together (conservative: it may forbid a harmless pair, never allow a
conflicting one). Yellow times come from the program's yellow phases, all-red times
from phases in which nothing is green or yellow; both have floors so that a network
with careless values does not produce an unsafe intergreen. Pedestrian signals (links
over a crossing) show no yellow unless the program gives them one; their intergreens
keep the floors.

The geometry of the junction gives, per signal group, the internal lanes its road users
take through the junction and which groups' paths cross or merge
(``Intersection.crossing_paths``): the safety layer holds a green while a cyclist of a
crossing path is still inside.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from lxml import etree

from .model import GroupKind, Intersection, ModelError, Phase, SignalGroup, intersection_build

#: A point of a lane shape (network coordinates, metres).
Point = tuple[float, float]

MIN_YELLOW = 3.0
DEFAULT_MIN_GREEN = 5.0
DEFAULT_MAX_GREEN = 60.0
#: Where an imported intergreen comes from: the program's own time from the clearing
#: group's last green second to the entering group's first; that time raised to the
#: clearing group's yellow (the program starts the entering group during the yellow); or,
#: for a pair the program never switches from one straight to the other, the default of
#: yellow plus all-red (the program does not say what the pair needs).
FROM_PROGRAM = "program"
RAISED_TO_YELLOW = "raised"
DEFAULTED = "default"
#: Largest accepted network file (the biggest RESCO network is well below 1 MB).
MAX_NET_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class FixedPlan:
    """A fixed-time plan (Festzeitprogramm): (phase index, green seconds) in order.

    ``starts`` holds the second of the cycle at which each green begins and ``cycle`` the
    cycle time (Umlaufzeit), transitions included, where the plan says so (a network's
    program does); without them :class:`~.controllers.FixedTime` derives both from the
    intersection's intergreens. ``offset`` (Versatzzeit) is when the cycle begins, in
    seconds after the reference time (as SUMO's ``offset``: the first green begins then),
    so that neighbouring plans keep their green wave.
    """

    greens: tuple[tuple[int, float], ...]
    offset: float = 0.0
    starts: tuple[float, ...] = ()
    cycle: float = 0.0

    def __post_init__(self) -> None:
        if self.starts and len(self.starts) != len(self.greens):
            raise ModelError("A fixed-time plan needs a start for every green.")
        if self.starts and not 0 <= self.starts[0] <= max(self.starts) < self.cycle:
            raise ModelError("A fixed-time plan's greens must begin within its cycle.")
        if any(b < a for a, b in zip(self.starts, self.starts[1:], strict=False)):
            raise ModelError("A fixed-time plan's greens must begin in order.")


@dataclass
class NetInfo:
    """What the controllers and the harness need from a network."""

    intersections: dict[str, Intersection] = field(default_factory=dict)
    plans: dict[str, FixedPlan] = field(default_factory=dict)
    #: Per intersection, the full SUMO program of the network (for the static baseline).
    cycle_seconds: dict[str, float] = field(default_factory=dict)
    lane_length: dict[str, float] = field(default_factory=dict)
    lane_edge: dict[str, str] = field(default_factory=dict)
    #: Lanes that feed each lane (normal edges only), to extend detection upstream.
    lane_pred: dict[str, list[str]] = field(default_factory=dict)
    #: Node position of every traffic light (network coordinates).
    positions: dict[str, tuple[float, float]] = field(default_factory=dict)
    #: Geographic projection parameters, if the network has them.
    proj: str = ""
    offset: tuple[float, float] = (0.0, 0.0)
    #: Per traffic light and signal group, the internal lanes its road users take through
    #: the junction that cyclists may use (where the harness looks for cyclists still
    #: inside).
    box_lanes: dict[str, dict[int, tuple[str, ...]]] = field(default_factory=dict)
    #: Per traffic light, where each intergreen comes from (what an engineer reviews after
    #: an import): :data:`FROM_PROGRAM`, :data:`RAISED_TO_YELLOW` or :data:`DEFAULTED`.
    intergreen_sources: dict[str, dict[tuple[int, int], str]] = field(default_factory=dict)
    #: Per traffic light, the vehicle groups whose yellow the program shows shorter than
    #: the layer's floor, with the program's value (the model uses the floor).
    program_yellow: dict[str, dict[int, float]] = field(default_factory=dict)


def _parse(path: Path) -> etree._Element:
    if not path.is_file():
        raise ModelError(f"Network file {path} does not exist.")
    if path.stat().st_size > MAX_NET_BYTES:
        raise ModelError("The network file is too large.")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        return etree.parse(str(path), parser).getroot()
    except etree.XMLSyntaxError as exc:
        raise ModelError(f"The network file is not well-formed XML: {exc}") from exc


def net_read(path: Path | str) -> NetInfo:
    """Parse a SUMO network file; raises :class:`ModelError` when nothing can be controlled."""
    root = _parse(Path(path))
    if root.tag != "net":
        raise ModelError("This is not a SUMO network file (root element is not <net>).")
    info = NetInfo()
    location = root.find("location")
    if location is not None:
        info.proj = location.get("projParameter", "") or ""
        off = (location.get("netOffset") or "0,0").split(",")
        try:
            info.offset = (float(off[0]), float(off[1]))
        except (ValueError, IndexError):
            info.offset = (0.0, 0.0)
    #: Lane shapes and the lanes cyclists may use (for the paths through junctions).
    shapes: dict[str, list[Point]] = {}
    cycled: set[str] = set()
    for edge in root.iter("edge"):
        for lane in edge.iter("lane"):
            lid = lane.get("id", "")
            length = _number(lane.get("length"))
            if length is None or length < 0:
                raise ModelError(f"Lane {lid}: the length {lane.get('length')!r} is not valid.")
            info.lane_length[lid] = length
            info.lane_edge[lid] = edge.get("id", "")
            shapes[lid] = _shape(lane.get("shape"))
            allow = (lane.get("allow") or "").split()
            if ("bicycle" in allow or not allow) and "bicycle" not in (
                lane.get("disallow") or ""
            ).split():
                cycled.add(lid)
    crossing_edges = {e.get("id") for e in root.iter("edge") if e.get("function") == "crossing"}

    links: dict[str, dict[int, dict[str, set[str]]]] = defaultdict(
        lambda: defaultdict(lambda: {"in": set(), "out": set()})
    )
    ped_links: dict[str, set[int]] = defaultdict(set)
    #: The internal lane after an internal lane (a turn that waits inside the junction).
    following: dict[str, str] = {}
    signalled: list[etree._Element] = []
    for conn in root.iter("connection"):
        src_edge = conn.get("from", "")
        if src_edge.startswith(":") and conn.get("via"):
            following[f"{src_edge}_{conn.get('fromLane')}"] = conn.get("via", "")
        if not src_edge.startswith(":") and not conn.get("to", "").startswith(":"):
            feeder = f"{src_edge}_{conn.get('fromLane')}"
            fed = f"{conn.get('to')}_{conn.get('toLane')}"
            info.lane_pred.setdefault(fed, [])
            if feeder not in info.lane_pred[fed]:
                info.lane_pred[fed].append(feeder)
        tl = conn.get("tl")
        if not tl:
            continue
        idx = int(conn.get("linkIndex", "-1"))
        if idx < 0:
            continue
        src, dst = conn.get("from", ""), conn.get("to", "")
        links[tl][idx]["in"].add(f"{src}_{conn.get('fromLane')}")
        links[tl][idx]["out"].add(f"{dst}_{conn.get('toLane')}")
        if src in crossing_edges or dst in crossing_edges:
            ped_links[tl].add(idx)
        signalled.append(conn)

    nodes = {j.get("id"): j for j in root.iter("junction")}
    # A traffic light may have several programs (``programID``); SUMO starts with the
    # one given last, so that one is the plan (a later one replaces an earlier one here).
    running: dict[str, etree._Element] = {}
    for tl in root.iter("tlLogic"):
        running[tl.get("id", "")] = tl
    paths, info.box_lanes = _paths(signalled, crossing_edges, shapes, cycled, following)
    for tid, tl in running.items():
        intersection, plan, cycle, sources, program_yellow = _intersection(
            tid, tl, links.get(tid, {}), ped_links[tid]
        )
        info.intergreen_sources[tid] = sources
        if program_yellow:
            info.program_yellow[tid] = program_yellow
        crossing = _crossing_paths(paths.get(tid, {}), len(intersection.groups))
        if crossing:
            intersection = replace(intersection, crossing_paths=crossing)
        info.intersections[tid] = intersection
        info.plans[tid] = plan
        info.cycle_seconds[tid] = cycle
        node = nodes.get(tid)
        if node is None:  # joined traffic lights are named after a cluster of nodes
            xs, ys = [], []
            for j in nodes.values():
                if j.get("tl") == tid:
                    xs.append(_required(j.get("x"), f"Junction {j.get('id')}: x"))
                    ys.append(_required(j.get("y"), f"Junction {j.get('id')}: y"))
            info.positions[tid] = (sum(xs) / len(xs), sum(ys) / len(ys)) if xs else (0.0, 0.0)
        else:
            info.positions[tid] = (
                _required(node.get("x"), f"Junction {tid}: x"),
                _required(node.get("y"), f"Junction {tid}: y"),
            )
    if not info.intersections:
        raise ModelError("The network has no traffic lights.")
    return info


def _shape(text: str | None) -> list[Point]:
    points = []
    for pair in (text or "").split():
        x, _, y = pair.partition(",")
        try:
            points.append((float(x), float(y.split(",")[0])))
        except ValueError:
            return []
    return points


def _paths(
    signalled: list[etree._Element],
    crossing_edges: set[str | None],
    shapes: dict[str, list[Point]],
    cycled: set[str],
    following: dict[str, str],
) -> tuple[dict[str, dict[int, list[list[Point]]]], dict[str, dict[int, tuple[str, ...]]]]:
    """Per traffic light and link index, from the signalled connections: the polylines
    its road users follow through the junction (a connection's internal lanes one after
    the other; a pedestrian crossing's lane), and its internal lanes that admit cyclists."""
    paths: dict[str, dict[int, list[list[Point]]]] = defaultdict(lambda: defaultdict(list))
    box: dict[str, dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    for conn in signalled:
        tl, link = conn.get("tl", ""), int(conn.get("linkIndex", "-1"))
        if conn.get("from") in crossing_edges:
            continue
        if conn.get("to") in crossing_edges:
            shape = shapes.get(f"{conn.get('to')}_0", [])
            if len(shape) >= 2:
                paths[tl][link].append(shape)
            continue
        via = conn.get("via")
        if not via:
            continue
        chain = [via]
        while chain[-1] in following and following[chain[-1]] not in chain:
            chain.append(following[chain[-1]])
        line: list[Point] = []
        for lane in chain:
            points = shapes.get(lane, [])
            line.extend(points[1:] if line and points and points[0] == line[-1] else points)
        if len(line) >= 2:
            paths[tl][link].append(line)
        box[tl][link].extend(lane for lane in chain if lane in cycled)
    lanes = {
        tl: {link: tuple(found) for link, found in links.items() if found}
        for tl, links in box.items()
    }
    return {tl: dict(links) for tl, links in paths.items()}, lanes


def _segments_cross(p: Point, q: Point, r: Point, s: Point) -> bool:
    d = (q[0] - p[0]) * (s[1] - r[1]) - (q[1] - p[1]) * (s[0] - r[0])
    if abs(d) < 1e-9:
        return False  # parallel
    t = ((r[0] - p[0]) * (s[1] - r[1]) - (r[1] - p[1]) * (s[0] - r[0])) / d
    u = ((r[0] - p[0]) * (q[1] - p[1]) - (r[1] - p[1]) * (q[0] - p[0])) / d
    eps = 1e-6
    return -eps <= t <= 1 + eps and -eps <= u <= 1 + eps


#: Paths whose ends lie closer than this (metres) merge into one lane.
MERGE_DISTANCE = 1.0


def _paths_meet(a: list[Point], b: list[Point]) -> bool:
    """Whether two paths through a junction cross or end in the same place (merge)."""
    if math.dist(a[-1], b[-1]) < MERGE_DISTANCE:
        return True
    return any(
        _segments_cross(a[i], a[i + 1], b[k], b[k + 1])
        for i in range(len(a) - 1)
        for k in range(len(b) - 1)
    )


def _crossing_paths(paths: dict[int, list[list[Point]]], n: int) -> frozenset[tuple[int, int]]:
    """Both orders of every pair of groups (below ``n``) whose paths meet."""
    links = sorted(link for link in paths if link < n)
    found: set[tuple[int, int]] = set()
    for i, a in enumerate(links):
        for b in links[i + 1 :]:
            if any(_paths_meet(pa, pb) for pa in paths[a] for pb in paths[b]):
                found |= {(a, b), (b, a)}
    return frozenset(found)


def _intersection(
    tid: str, tl: etree._Element, links: dict[int, dict[str, set[str]]], peds: set[int]
) -> tuple[Intersection, FixedPlan, float, dict[tuple[int, int], str], dict[int, float]]:
    raw = [
        (p.get("state", ""), _duration(tid, p.get("duration")), p.get("minDur"), p.get("maxDur"))
        for p in tl.iter("phase")
    ]
    if not raw:
        raise ModelError(f"Traffic light {tid} has no phases.")
    if not sum(d for _, d, *_ in raw) > 0:
        raise ModelError(f"Traffic light {tid}: its program lasts no time.")
    n = len(raw[0][0])
    if n == 0 or any(len(s) != n for s, *_ in raw):
        raise ModelError(f"Traffic light {tid}: phase states differ in length.")
    yellow = [0.0] * n
    all_red = 0.0
    for state, dur, *_rest in raw:
        if not any(ch in "Gg" for ch in state) and not any(ch in "yY" for ch in state):
            all_red = max(all_red, dur)
    # a yellow may span several states (a plan drawn per signal group changes other
    # groups meanwhile): each group's yellow is its longest run of yellow seconds
    for g, runs in _group_runs(raw, n, "yY").items():
        yellow[g] = max(runs)
    # what the program shows: pedestrian signals have no yellow (red and green only;
    # their clearance is part of the intergreen), so they keep it when the program does
    shown_yellow = list(yellow)
    yellow = [max(MIN_YELLOW, y) for y in yellow]

    # A plan drawn per signal group (German practice) shows some sets of greens for a
    # second or two while it starts and ends its groups staggered; the minimum green is
    # a rule per group. Each group keeps the shortest green the program gives it (at most
    # the default), each green set the shortest time the program shows it, so the plan
    # can be run as drawn.
    shortest_run = {g: min(runs) for g, runs in _group_runs(raw, n, "Gg").items()}
    # each state's greens if it is a phase; empty for a transition (yellow, red-yellow)
    # or all-red
    greens_of = [_phase_greens(state) for state, *_ in raw]
    shown_for = _shortest_showings(raw, greens_of)
    phases: list[Phase] = []
    index_of: dict[frozenset[int], int] = {}
    plan: list[tuple[int, float]] = []
    starts: list[float] = []
    second = 0.0
    for (state, dur, min_dur, max_dur), greens in zip(raw, greens_of, strict=True):
        second += dur
        if not greens:
            continue
        if greens not in index_of:
            min_green = (
                _duration(tid, min_dur) if min_dur else min(DEFAULT_MIN_GREEN, shown_for[greens])
            )
            max_green = _duration(tid, max_dur) if max_dur else max(DEFAULT_MAX_GREEN, dur)
            letters = {g: state[g] for g in greens}
            index_of[greens] = len(phases)
            phases.append(
                Phase(
                    name=f"{len(phases) + 1}",
                    greens=greens,
                    min_green=min(min_green, max_green),
                    max_green=max_green,
                    letters=letters,
                )
            )
        # A phase that only adds greens to the previous one continues it in a fixed plan.
        plan.append((index_of[greens], dur))
        starts.append(second - dur)
    if not phases:
        raise ModelError(f"Traffic light {tid} never shows green.")
    # Groups the program shows green at the same time do not conflict, in a phase or in
    # a transition state (a plan drawn per signal group starts and ends its groups
    # staggered, so some pairs are green together only for a second or two).
    lit_in = [[g for g, ch in enumerate(state) if ch in "Gg"] for state, *_ in raw]
    cogreen = {(a, b) for lit in lit_in for a in lit for b in lit}
    # The program's own intergreen: for each change from one green state to the next,
    # the time between the clearing group's last green and the entering group's first.
    seen_pairs: dict[tuple[int, int], float] = {}
    raised: set[tuple[int, int]] = set()
    count = len(raw)
    for i in range(count):
        if not greens_of[i]:
            continue
        # walk over the transition states (yellow, all-red) to the next green state; in a
        # plan drawn per signal group some groups stay green into the transition and
        # others start within it, so note when each is last and first green there
        between = 0.0
        last_green: dict[int, float] = {}
        first_green: dict[int, float] = {}
        k = (i + 1) % count
        for _ in range(count):
            if greens_of[k]:
                break
            for g, ch in enumerate(raw[k][0]):
                if ch in "Gg":
                    first_green.setdefault(g, between)
                    last_green[g] = between + raw[k][1]
            between += raw[k][1]
            k = (k + 1) % count
        for a in greens_of[i] - greens_of[k]:
            for b in greens_of[k] - greens_of[i]:
                if (a, b) not in cogreen:
                    gap = first_green.get(b, between) - last_green.get(a, 0.0)
                    if gap < yellow[a]:
                        raised.add((a, b))
                    value = max(gap, yellow[a])
                    seen_pairs[(a, b)] = min(seen_pairs.get((a, b), value), value)
    intergreen = {
        (a, b): seen_pairs.get((a, b), yellow[a] + all_red)
        for a in range(n)
        for b in range(n)
        if a != b and (a, b) not in cogreen
    }
    groups = [
        SignalGroup(
            index=g,
            name=f"{tid}:{g}",
            kind=GroupKind.PEDESTRIAN if g in peds else GroupKind.VEHICLE,
            yellow=yellow[g] if g not in peds else shown_yellow[g],
            min_green=min(DEFAULT_MIN_GREEN, shortest_run.get(g, DEFAULT_MIN_GREEN)),
            lanes=tuple(sorted(links.get(g, {}).get("in", ()))),
            out_lanes=tuple(sorted(links.get(g, {}).get("out", ()))),
        )
        for g in range(n)
    ]
    shown = frozenset().union(*(p.greens for p in phases))
    stranded = [
        g.index
        for g in groups
        if g.lanes and g.kind != GroupKind.PEDESTRIAN and g.index not in shown
    ]
    if stranded:
        raise ModelError(
            f"Traffic light {tid}: signal groups {stranded} are never green in program "
            f"{tl.get('programID', '')!r} (the one SUMO runs: the last given), so their "
            "vehicles would wait forever; give the program a phase for them (e.g. "
            "netconvert --tls.rebuild)."
        )
    intersection = intersection_build(id=tid, groups=groups, phases=phases, intergreen=intergreen)
    cycle = sum(d for _, d, *_ in raw)
    sources = {
        pair: DEFAULTED
        if pair not in seen_pairs
        else RAISED_TO_YELLOW
        if pair in raised
        else FROM_PROGRAM
        for pair in intergreen
    }
    program_yellow = {
        g.index: shown_yellow[g.index]
        for g in groups
        if g.kind != GroupKind.PEDESTRIAN and shown_yellow[g.index] < g.yellow
    }
    plan_ = FixedPlan(
        tuple(plan), _offset(tid, tl.get("offset")), starts=tuple(starts), cycle=cycle
    )
    return intersection, plan_, cycle, sources, program_yellow


def _number(value: str | None) -> float | None:
    """``value`` as a finite number (absent: 0), or ``None`` when it is not one."""
    try:
        number = float(value or 0)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _required(value: str | None, what: str) -> float:
    number = _number(value)
    if number is None:
        raise ModelError(f"{what} {value!r} is not a number.")
    return number


def _duration(tid: str, value: str | None) -> float:
    seconds = _number(value)
    if seconds is None or seconds < 0:
        raise ModelError(f"Traffic light {tid}: the phase duration {value!r} is not valid.")
    return seconds


def _offset(tid: str, value: str | None) -> float:
    return _required(value, f"Traffic light {tid}: the offset")


def _phase_greens(state: str) -> frozenset[int]:
    """The groups green in ``state`` if it is a phase; empty for a transition (yellow,
    red-yellow) or all-red."""
    if any(ch in "yYu" for ch in state):
        return frozenset()
    return frozenset(g for g, ch in enumerate(state) if ch in "Gg")


#: A program's states as (state, duration, minDur, maxDur).
_Program = list[tuple[str, float, str | None, str | None]]


def _cyclic_runs(keys: Sequence[Hashable | None], raw: _Program) -> dict[Any, list[float]]:
    """The duration of every unbroken run of equal keys (one per state of the cyclic
    program ``raw``; ``None`` counts as no key) by key."""
    found: dict[Any, list[float]] = defaultdict(list)
    if len(set(keys)) == 1:
        if keys[0] is not None:
            found[keys[0]].append(sum(d for _, d, *_ in raw))
        return found
    # begin where a run begins, so that no run wraps around the end of the program
    start = next(i for i in range(len(keys)) if keys[i] != keys[i - 1])
    current: Hashable | None = None
    run = 0.0
    for k in range(len(keys) + 1):
        i = (start + k) % len(keys)
        if k < len(keys) and keys[i] == current:
            run += raw[i][1]
            continue
        if current is not None:
            found[current].append(run)
        if k < len(keys):
            current, run = keys[i], raw[i][1]
    return found


def _group_runs(raw: _Program, n: int, letters: str) -> dict[int, list[float]]:
    """Per group, how long each time the program shows it one of ``letters`` without a
    break (groups never shown so are left out)."""
    found: dict[int, list[float]] = {}
    for g in range(n):
        runs = _cyclic_runs([True if state[g] in letters else None for state, *_ in raw], raw)
        if runs:
            found[g] = runs[True]
    return found


def _shortest_showings(
    raw: _Program, greens_of: list[frozenset[int]]
) -> dict[frozenset[int], float]:
    """Per set of greens the program shows as a phase (``greens_of``: per state), the
    shortest time it shows it without a break (consecutive states with the same greens
    count together)."""
    runs = _cyclic_runs([greens or None for greens in greens_of], raw)
    return {key: min(found) for key, found in runs.items()}
