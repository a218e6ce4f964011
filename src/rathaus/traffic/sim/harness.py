"""Run one controller on one scenario through libsumo and measure it.

Own controllers drive SUMO through the safety layer only (``setRedYellowGreenState``
with the layer's output); SUMO's built-in programs run untouched. In both cases a
:class:`~rathaus.traffic.control.safety.SafetyMonitor` watches the states SUMO actually
shows, as an independent cross-check.

Delay is computed as in the RESCO benchmark: time loss plus departure delay of every
vehicle from the tripinfo output (``--tripinfo-output.write-unfinished``), and vehicles
that were due but could not enter the network at all count with their whole waiting time
(end - planned departure).
"""

from __future__ import annotations

import math
import os
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from lxml import etree

from ..control.controllers import CONTROLLERS, Controller, Timetabled
from ..control.model import Intersection
from ..control.observe import LaneReading, LayerView, Observation
from ..control.priority import PriorityArbiter, PriorityKind, PriorityRequest
from ..control.safety import SafetyLayer, SafetyMonitor
from ..control.sumonet import FixedPlan, NetInfo, net_read
from ..control.timetable import Calendar, TimedPlan
from .scenario import BUILTINS, Scenario, builtin_net, flow_departures

#: Own controllers; ``adaptive_nopriority`` is the adaptive controller without bus
#: priority, the reference for the bus-delay target.
OWN_CONTROLLERS = ("fixed", "actuated", "max_pressure", "adaptive", "adaptive_nopriority")
ALL_CONTROLLERS = OWN_CONTROLLERS + BUILTINS
#: A plan given to a run for one traffic light: one for the whole run, or plans by time
#: of day (the scenario's clock is the time of day), with the network's own program at
#: the times none covers.
GivenPlans = FixedPlan | tuple[TimedPlan, ...]
#: Length of the stop-line area detectors (queue and approaching vehicles).
AREA_LENGTH = 80.0
#: Vehicles slower than this (m/s) stand and are not tracked. The area detector's halting
#: count uses 1.39 m/s, so a vehicle creeping in between is counted in the queue and also
#: tracked (it is about to move off).
HALTING_SPEED = 0.1
#: Acceleration assumed for approaching vehicles (m/s², a comfortable value).
ACCEL = 1.5
#: A bus asks for priority this far ahead of its stop line.
PRIORITY_DISTANCE = 120.0
#: SUMO's random seed unless a run asks for another (the benchmark's figures use it).
DEFAULT_SEED = 42

Progress = Callable[[float], None]
#: Owner lane -> [(detector id, distance from the end of its lane to the stop line, length
#: of its lane)].
Detectors = dict[str, list[tuple[str, float, float]]]

# libsumo is one simulation per process; serialise runs inside one process.
_LOCK = threading.Lock()


@dataclass
class RunResult:
    scenario: str
    controller: str
    seconds: float
    metrics: dict[str, float | int | None] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)
    priority: dict[str, int] = field(default_factory=dict)
    wall_seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "controller": self.controller,
            "seconds": self.seconds,
            "metrics": self.metrics,
            "violations": self.violations[:20],
            "priority": self.priority,
            "wall_seconds": round(self.wall_seconds, 2),
        }


def _detector_file(info: NetInfo, folder: Path) -> tuple[Path, Detectors, dict[str, str]]:
    """Write area detectors (E2) covering the last :data:`AREA_LENGTH` metres before each
    stop line (continued onto feeding lanes when the incoming lane is short) and the first
    metres of each exit lane, plus stop-line loops (E1); return the file, lane -> area
    detectors (id, distance from the end of the detector's lane to the stop line or -1 on
    exit lanes, length of the detector's lane) and lane -> loop id."""
    area: Detectors = defaultdict(list)
    loop: dict[str, str] = {}
    incoming: set[str] = set()
    outgoing: set[str] = set()
    for intersection in info.intersections.values():
        for g in intersection.groups:
            incoming.update(g.lanes)
            outgoing.update(g.out_lanes)
    root = etree.Element("additional")
    count = 0

    def add_area(owner: str, lane: str, start: float, end: float, offset: float) -> None:
        nonlocal count
        if end - start < 0.1:
            return
        det = f"e2_{count}"
        count += 1
        area[owner].append((det, offset, info.lane_length.get(lane, 0.0)))
        etree.SubElement(
            root,
            "laneAreaDetector",
            id=det,
            lane=lane,
            pos=f"{start:.2f}",
            endPos=f"{end:.2f}",
            period="3600",
            file=os.devnull,
        )

    for lane in sorted(incoming):
        length = info.lane_length.get(lane, 0.0)
        if length <= 0:
            continue
        # walk upstream over feeding lanes until the detection length is covered
        frontier = [(lane, 0.0)]
        for _hop in range(4):
            nxt: list[tuple[str, float]] = []
            for current, offset in frontier:
                clen = info.lane_length.get(current, 0.0)
                if clen <= 0 or offset >= AREA_LENGTH - 1.0:
                    continue
                if current != lane and current in incoming:
                    continue
                add_area(lane, current, max(0.0, clen - (AREA_LENGTH - offset)), clen, offset)
                nxt.extend((pred, offset + clen) for pred in info.lane_pred.get(current, []))
            frontier = nxt
        det1 = f"e1_{len(loop)}"
        loop[lane] = det1
        etree.SubElement(
            root,
            "inductionLoop",
            id=det1,
            lane=lane,
            pos=f"{max(0.0, length - 1.5):.2f}",
            period="3600",
            file=os.devnull,
        )
    for lane in sorted(outgoing - incoming):
        length = info.lane_length.get(lane, 0.0)
        if length > 0:
            add_area(lane, lane, 0.0, min(length, AREA_LENGTH), -1.0)
    path = folder / "detectors.add.xml"
    etree.ElementTree(root).write(str(path), xml_declaration=True, encoding="UTF-8")
    return path, dict(area), loop


def _planned_departures(scenario: Scenario, until: float) -> dict[str, tuple[float, bool]]:
    """Vehicle id -> (planned departure, is bus) for every vehicle due before ``until``."""
    vclass: dict[str, str] = {}
    planned: dict[str, tuple[float, bool]] = {}
    for route_file in scenario.routes:
        for _, elem in etree.iterparse(str(route_file), events=("end",), resolve_entities=False):
            tag = elem.tag
            if tag == "vType":
                vclass[elem.get("id", "")] = elem.get("vClass", "passenger")
            elif tag in ("vehicle", "trip"):
                try:
                    depart = float(elem.get("depart", "nan"))
                except ValueError:
                    depart = float("nan")
                if scenario.begin <= depart < until:
                    vtype = elem.get("type", "")
                    planned[elem.get("id", "")] = (depart, vclass.get(vtype, "") == "bus")
                elem.clear()
            elif tag == "flow":
                is_bus = vclass.get(elem.get("type", ""), "") == "bus"
                for vid, depart in flow_departures(elem, scenario.begin, until):
                    if depart >= scenario.begin:
                        planned[vid] = (depart, is_bus)
                elem.clear()
    return planned


def _tripinfo(path: Path) -> dict[str, dict[str, float]]:
    found: dict[str, dict[str, float]] = {}
    if not path.exists():
        return found
    for _, elem in etree.iterparse(str(path), events=("end",), tag="tripinfo"):
        row = {
            "departDelay": float(elem.get("departDelay", 0)),
            "timeLoss": float(elem.get("timeLoss", 0)),
            "duration": float(elem.get("duration", 0)),
            "waitingTime": float(elem.get("waitingTime", 0)),
            "arrived": 1.0 if float(elem.get("arrival", -1)) >= 0 else 0.0,
            "co2": 0.0,
        }
        emissions = elem.find("emissions")
        if emissions is not None:
            row["co2"] = float(emissions.get("CO2_abs", 0))
        found[elem.get("id", "")] = row
        elem.clear()
    return found


class _Own:
    """State of own controllers for all intersections of a run."""

    def __init__(
        self,
        info: NetInfo,
        controller: str,
        priority: bool,
        start: float,
        plans: Mapping[str, GivenPlans] | None = None,
        calendar: Calendar | None = None,
    ) -> None:
        base = "adaptive" if controller == "adaptive_nopriority" else controller
        factory = CONTROLLERS[base]
        given = dict(plans or {})
        self.info = info
        self.layers: dict[str, SafetyLayer] = {}
        self.controllers: dict[str, Controller] = {}
        self.arbiters: dict[str, PriorityArbiter] = {}
        for tid, intersection in info.intersections.items():
            plan = given.get(tid, info.plans[tid])
            inner: Controller
            if isinstance(plan, FixedPlan):
                # a configuration may have fewer phases than the network's program names
                first = plan.greens[0][0] if plan.greens[0][0] < len(intersection.phases) else 0
                inner = factory(intersection, plan)
            else:
                timetabled = Timetabled(intersection, plan, info.plans[tid], calendar)
                first = timetabled.due(start).plan.greens[0][0]
                inner = timetabled
            self.layers[tid] = SafetyLayer(intersection, now=start, start_phase=first)
            if priority:
                arbiter = PriorityArbiter(intersection, inner)
                self.arbiters[tid] = arbiter
                self.controllers[tid] = arbiter
            else:
                self.controllers[tid] = inner
        self.views = {tid: LayerView(layer) for tid, layer in self.layers.items()}
        self.upstream = self._upstream_map()
        self.lane_owner: dict[str, list[str]] = defaultdict(list)
        for tid, intersection in info.intersections.items():
            for g in intersection.groups:
                for lane in g.lanes:
                    if tid not in self.lane_owner[lane]:
                        self.lane_owner[lane].append(tid)

    def _upstream_map(self) -> dict[str, list[tuple[str, int, str, float]]]:
        """Incoming lane of B -> [(A, group of A, incoming lane of A, share)] for neighbours
        A whose groups release vehicles onto the edge of that lane."""
        info = self.info
        lanes_by_edge: dict[str, list[str]] = defaultdict(list)
        for intersection in info.intersections.values():
            for g in intersection.groups:
                for lane in g.lanes:
                    edge = info.lane_edge.get(lane, "")
                    if lane not in lanes_by_edge[edge]:
                        lanes_by_edge[edge].append(lane)
        groups_per_lane: dict[tuple[str, str], int] = defaultdict(int)
        for tid, intersection in info.intersections.items():
            for g in intersection.groups:
                for lane in g.lanes:
                    groups_per_lane[(tid, lane)] += 1
        mapping: dict[str, list[tuple[str, int, str, float]]] = defaultdict(list)
        for tid, intersection in info.intersections.items():
            for g in intersection.groups:
                edges = {info.lane_edge.get(out, "") for out in g.out_lanes}
                for edge in edges:
                    targets = [lane for lane in lanes_by_edge.get(edge, []) if lane not in g.lanes]
                    if not targets:
                        continue
                    for src in g.lanes:
                        share = 1.0 / groups_per_lane[(tid, src)] / len(targets)
                        for target in targets:
                            mapping[target].append((tid, g.index, src, share))
        return dict(mapping)


def same_phases(network: Intersection, model: Intersection) -> bool:
    """Whether ``model`` has the network's phases (the same greens, in the same order),
    so that the network's own program can run on it."""
    return [p.greens for p in model.phases] == [p.greens for p in network.phases]


def configured(network: Intersection, model: Intersection) -> Intersection:
    """``model`` in place of ``network`` (the same traffic light as the network file
    gives it), keeping the crossing paths the network's geometry gives; raises
    :class:`ValueError` if its signal groups are not the network's."""
    if [(g.lanes, g.out_lanes) for g in model.groups] != [
        (g.lanes, g.out_lanes) for g in network.groups
    ]:
        raise ValueError(
            f"The configuration of {network.id} does not match the network: its signal "
            "groups release other lanes."
        )
    return replace(model, id=network.id, crossing_paths=network.crossing_paths)


def simulate(
    scenario: Scenario,
    controller: str,
    *,
    cache_dir: Path,
    seconds: float | None = None,
    progress: Progress | None = None,
    on_step: Callable[[float, dict[str, str], dict[str, LaneReading]], None] | None = None,
    seed: int = DEFAULT_SEED,
    plans: Mapping[str, GivenPlans] | None = None,
    models: Mapping[str, Intersection] | None = None,
    calendar: Calendar | None = None,
) -> RunResult:
    """Run ``controller`` (one of :data:`ALL_CONTROLLERS`) on ``scenario``.

    ``seconds`` shortens the run (vehicles due later are not counted); ``progress``
    receives the share done (0..1); ``on_step`` (digital twin) gets the time, each
    intersection's state string and the lane readings every simulated second; ``seed``
    is SUMO's random seed (driver imperfection, departure speeds, routing choices);
    ``plans`` (by traffic light id) replace the network's own programs for the
    fixed-time controller (the back office's plans, tried before they go live): one plan
    for the whole run, or plans by time of day (:data:`GivenPlans`);
    ``models`` replace the intersections the network file gives (the back office's
    configuration after its review: phases, intergreens, minimum greens), each with the
    same signal groups on the same lanes as the network's, for the own controllers
    (SUMO's programs know only the network); the fixed-time controller runs a configured
    intersection with a plan of its own unless its phases are the network's; ``calendar``
    gives the dates of the scenario's clock, for plans that hold on certain days.
    """
    if controller not in ALL_CONTROLLERS:
        raise ValueError(f"Unknown controller {controller!r}.")
    if plans and controller != "fixed":
        raise ValueError("Signal plans run with the fixed-time controller only.")
    if models and controller not in OWN_CONTROLLERS:
        raise ValueError("SUMO's own programs cannot run the back office's configuration.")
    import libsumo  # type: ignore[import-untyped]

    end = scenario.end if seconds is None else min(scenario.end, scenario.begin + seconds)
    started = time.monotonic()
    with _LOCK, tempfile.TemporaryDirectory(prefix="rathaus-sumo-") as tmp_name:
        tmp = Path(tmp_name)
        net = scenario.net
        if controller == "sumo_actuated":
            net = builtin_net(scenario, "actuated", cache_dir)
        elif controller == "sumo_delay_based":
            net = builtin_net(scenario, "delay_based", cache_dir)
        info = net_read(net)
        unknown = sorted((set(plans or ()) | set(models or ())) - set(info.intersections))
        if unknown:
            raise ValueError(f"No traffic light {', '.join(unknown)} in this network.")
        for tid, model in (models or {}).items():
            network = info.intersections[tid]
            if (
                controller == "fixed"
                and tid not in (plans or {})
                and not same_phases(network, model)
            ):
                # the network's own program counts in the network's phases
                raise ValueError(
                    f"The configuration of {tid} has other phases than the network's "
                    "program: the fixed-time controller runs it with a plan of its own."
                )
            info.intersections[tid] = configured(network, model)
        own = (
            _Own(
                info,
                controller,
                controller != "adaptive_nopriority",
                scenario.begin,
                plans,
                calendar,
            )
            if controller in OWN_CONTROLLERS
            else None
        )
        det_file, area, loop = _detector_file(info, tmp)
        trip_file = tmp / "tripinfo.xml"
        args = sumo_command(
            net,
            scenario,
            [*scenario.additional, det_file],
            end=end,
            seed=seed,
            extra=(
                "--tripinfo-output",
                str(trip_file),
                "--tripinfo-output.write-unfinished",
                "--device.emissions.probability",
                "1",
            ),
        )
        libsumo.start(args)
        monitors = {tid: SafetyMonitor(i) for tid, i in info.intersections.items()}
        incoming = sorted(
            {lane for i in info.intersections.values() for g in i.groups for lane in g.lanes}
        )
        buses: set[str] = set()
        bus_target: dict[str, tuple[str, int]] = {}
        #: Buses that came within PRIORITY_DISTANCE of a traffic light (priority reaches
        #: only them).
        signal_buses: set[str] = set()
        teleports = 0
        gaps: dict[str, float] = {}
        queue_sum = 0.0
        queue_max = 0.0
        steps = 0
        violations: list[str] = []
        total = end - scenario.begin
        last_progress = -1.0
        try:
            now = libsumo.simulation.getTime()
            while now < end:
                readings = _read(libsumo, area, loop, gaps, 1.0)
                states: dict[str, str] = {}
                if own is not None:
                    if own.arbiters:
                        _bus_requests(libsumo, own, buses, bus_target, now)
                    control_step(libsumo, own, readings, now)
                for tid, monitor in monitors.items():
                    shown = libsumo.trafficlight.getRedYellowGreenState(tid)
                    states[tid] = shown
                    for v in monitor.observe(now, shown):
                        violations.append(f"{tid} {v}")
                if on_step is not None:
                    on_step(now, states, readings)
                libsumo.simulationStep()
                now = libsumo.simulation.getTime()
                steps += 1
                teleports += libsumo.simulation.getStartingTeleportNumber()
                for vid in libsumo.simulation.getDepartedIDList():
                    if libsumo.vehicle.getVehicleClass(vid) in ("bus", "emergency"):
                        buses.add(vid)
                for vid in libsumo.simulation.getArrivedIDList():
                    buses.discard(vid)
                _bus_approaches(libsumo, buses, signal_buses)
                queue = sum(libsumo.lane.getLastStepHaltingNumber(lane) for lane in incoming)
                queue_sum += queue
                queue_max = max(queue_max, queue)
                if progress is not None:
                    share = (now - scenario.begin) / total
                    if share - last_progress >= 0.01:
                        last_progress = share
                        progress(min(1.0, share))
        finally:
            libsumo.close()
        trips = _tripinfo(trip_file)
    planned = _planned_departures(scenario, end)
    result = RunResult(scenario=scenario.name, controller=controller, seconds=end - scenario.begin)
    result.metrics = _metrics(
        planned, trips, end, teleports, queue_sum / max(steps, 1), queue_max, signal_buses
    )
    result.metrics["safety_violations"] = len(violations)
    result.violations = violations
    if own is not None:
        result.priority = defaultdict(int)
        for arbiter in own.arbiters.values():
            for key, count in arbiter.granted.items():
                result.priority[key] += count
        result.priority = dict(result.priority)
        result.metrics["refused_proposals"] = sum(layer.refused for layer in own.layers.values())
        result.metrics["cyclist_clearance_holds"] = sum(layer.held for layer in own.layers.values())
    result.wall_seconds = time.monotonic() - started
    if progress is not None:
        progress(1.0)
    return result


def sumo_command(
    net: Path,
    scenario: Scenario,
    additional: Collection[Path],
    *,
    end: float,
    seed: int,
    extra: Collection[str] = (),
) -> list[str]:
    """The command line every run starts SUMO with (``extra``: outputs)."""
    return [
        "sumo",
        "--net-file",
        str(net),
        "--route-files",
        ",".join(str(p) for p in scenario.routes),
        "--additional-files",
        ",".join(str(p) for p in additional),
        "--begin",
        str(scenario.begin),
        "--end",
        str(end),
        *extra,
        "--no-step-log",
        "--no-warnings",
        "--seed",
        str(seed),
        "--time-to-teleport",
        "300",
    ]


def control_step(libsumo: Any, own: _Own, readings: dict[str, LaneReading], now: float) -> None:
    """One second of own control: every controller proposes, its safety layer decides
    (holding a crossing green while a cyclist is still inside the junction), SUMO shows
    the layer's state."""
    upstream_now = _upstream(own, readings)
    for tid, layer in own.layers.items():
        obs = Observation(now=now, lanes=readings, upstream=upstream_now.get(tid, {}))
        proposal = own.controllers[tid].decide(obs, own.views[tid])
        inside = (
            _cyclists_inside(libsumo, own.info.box_lanes.get(tid, {}))
            if layer.target is not None
            else ()
        )
        libsumo.trafficlight.setRedYellowGreenState(tid, layer.step(now, proposal, inside))


def _cyclists_inside(libsumo: Any, box: dict[int, tuple[str, ...]]) -> list[int]:
    """The signal groups with a cyclist still on their way through the junction (what
    video detection over the junction area reports)."""
    found = []
    for group, lanes in box.items():
        if any(
            libsumo.vehicle.getVehicleClass(vid) == "bicycle"
            for lane in lanes
            for vid in libsumo.lane.getLastStepVehicleIDs(lane)
        ):
            found.append(group)
    return found


def _read(
    libsumo: Any,
    area: Detectors,
    loop: dict[str, str],
    gaps: dict[str, float],
    dt: float,
) -> dict[str, LaneReading]:
    """Detector readings of this step. The gap of a stop-line loop is the time since a
    vehicle last crossed it while moving (a vehicle standing on it is no crossing). On
    incoming lanes the area detectors also report, like a tracking radar, when each moving
    vehicle would reach the stop line (accelerating to its speed limit, see
    :func:`arrival_time`)."""
    readings: dict[str, LaneReading] = {}
    e2 = libsumo.lanearea
    e1 = libsumo.inductionloop
    veh = libsumo.vehicle
    for lane, det in loop.items():
        if e1.getLastStepMeanSpeed(det) > 1.0:
            gaps[lane] = 0.0
        else:
            gaps[lane] = gaps.get(lane, 1e3) + dt

    def track(det: str, offset: float, length: float, into: list[float]) -> None:
        for vid in e2.getLastStepVehicleIDs(det):
            speed = veh.getSpeed(vid)
            if speed >= HALTING_SPEED:
                distance = length - veh.getLanePosition(vid) + offset
                limit = max(speed, veh.getAllowedSpeed(vid))
                into.append(arrival_time(max(0.0, distance), speed, limit))

    for lane, dets in area.items():
        vehicles = 0
        queue = 0
        occupancy = 0.0
        arrivals: list[float] = []
        for det, offset, length in dets:
            n = e2.getLastStepVehicleNumber(det)
            if n:
                vehicles += n
                halting = e2.getLastStepHaltingNumber(det)
                queue += halting
                occupancy = max(occupancy, e2.getLastStepOccupancy(det) / 100.0)
                if offset >= 0 and halting < n:
                    track(det, offset, length, arrivals)
        gap = gaps.get(lane, 1e9)
        if vehicles:
            readings[lane] = LaneReading(
                queue=queue,
                vehicles=vehicles,
                occupancy=occupancy,
                gap=gap,
                arrivals=tuple(sorted(arrivals)),
            )
        elif lane in loop:
            readings[lane] = LaneReading(gap=gap)
    return readings


def arrival_time(distance: float, speed: float, limit: float, accel: float = ACCEL) -> float:
    """Seconds to cover ``distance`` from ``speed`` when accelerating at ``accel`` up to
    ``limit`` (a vehicle creeping in a starting queue does not keep its crawl)."""
    if limit <= 0:
        return float("inf")
    t_acc = (limit - speed) / accel
    d_acc = (speed + limit) / 2 * t_acc
    if distance <= d_acc:
        return (-speed + math.sqrt(speed * speed + 2 * accel * distance)) / accel
    return t_acc + (distance - d_acc) / limit


def _upstream(own: _Own, readings: dict[str, LaneReading]) -> dict[str, dict[str, float]]:
    """Vehicles that green neighbours are releasing towards each intersection's lanes."""
    result: dict[str, dict[str, float]] = defaultdict(dict)
    for lane, sources in own.upstream.items():
        total = 0.0
        for tid, group, src, share in sources:
            if own.layers[tid].signal(group).value == "G":
                reading = readings.get(src)
                if reading is not None:
                    total += reading.vehicles * share
        if total:
            for tid in own.lane_owner[lane]:
                result[tid][lane] = total
    return result


def _bus_requests(
    libsumo: Any, own: _Own, buses: set[str], target: dict[str, tuple[str, int]], now: float
) -> None:
    """Buses (and emergency vehicles) ask the next traffic light for priority on approach."""
    for vid in sorted(buses):  # a fixed order: the arbiter grants in request order
        try:
            upcoming = libsumo.vehicle.getNextTLS(vid)
        except libsumo.TraCIException:
            buses.discard(vid)
            upcoming = ()
        wanted: tuple[str, int] | None = None
        if upcoming:
            tid, link, distance, _state = upcoming[0]
            if distance <= PRIORITY_DISTANCE and tid in own.arbiters:
                wanted = (tid, int(link))
        previous = target.get(vid)
        if previous is not None and previous != wanted:
            own.arbiters[previous[0]].cancel(vid)
            del target[vid]
        if wanted is not None and previous != wanted:
            kind = (
                PriorityKind.EMERGENCY
                if libsumo.vehicle.getVehicleClass(vid) == "emergency"
                else PriorityKind.BUS
            )
            own.arbiters[wanted[0]].request(PriorityRequest(vid, kind, wanted[1], now))
            target[vid] = wanted
    for vid in list(target):
        if vid not in buses:
            tid, _ = target.pop(vid)
            own.arbiters[tid].cancel(vid)


def _bus_approaches(libsumo: Any, buses: set[str], into: set[str]) -> None:
    """Add the buses that are within :data:`PRIORITY_DISTANCE` of a traffic light."""
    for vid in buses - into:
        try:
            upcoming = libsumo.vehicle.getNextTLS(vid)
        except libsumo.TraCIException:
            continue
        if upcoming and upcoming[0][2] <= PRIORITY_DISTANCE:
            into.add(vid)


def _metrics(
    planned: dict[str, tuple[float, bool]],
    trips: dict[str, dict[str, float]],
    end: float,
    teleports: int,
    queue_mean: float,
    queue_max: float,
    signal_buses: Collection[str] = (),
) -> dict[str, float | int | None]:
    delays: list[float] = []
    bus_delays: list[float] = []
    signal_bus_delays: list[float] = []
    durations: list[float] = []
    waiting: list[float] = []
    co2 = 0.0
    not_departed = 0
    for vid, (depart, is_bus) in planned.items():
        row = trips.get(vid)
        if row is None:
            delay = max(0.0, end - depart)
            not_departed += 1
        else:
            delay = row["departDelay"] + row["timeLoss"]
            waiting.append(row["waitingTime"])
            co2 += row["co2"]
            if row["arrived"]:
                durations.append(row["duration"])
        delays.append(delay)
        if is_bus:
            bus_delays.append(delay)
            if vid in signal_buses:
                signal_bus_delays.append(delay)

    def mean(values: list[float]) -> float | None:
        return round(sum(values) / len(values), 3) if values else None

    return {
        "vehicles": len(planned),
        "mean_delay": mean(delays),
        "mean_trip_time": mean(durations),
        "mean_waiting_time": mean(waiting),
        "mean_queue": round(queue_mean, 3),
        "max_queue": round(queue_max, 1),
        "throughput": len(durations),
        "not_departed": not_departed,
        "teleports": teleports,
        "co2_kg": round(co2 / 1e6, 3),
        "bus_delay": mean(bus_delays),
        "buses": len(bus_delays),
        "signal_bus_delay": mean(signal_bus_delays),
        "signal_buses": len(signal_bus_delays),
    }
