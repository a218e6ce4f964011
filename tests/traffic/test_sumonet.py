"""Reading intersections from SUMO networks, and refusing networks that cannot be
controlled safely."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from rathaus.traffic.control.controllers import FixedTime
from rathaus.traffic.control.model import (
    GroupKind,
    ModelError,
    intersection_as_data,
    intersection_from_data,
)
from rathaus.traffic.control.observe import LayerView, Observation
from rathaus.traffic.control.safety import SafetyLayer, SafetyMonitor
from rathaus.traffic.control.sumonet import (
    DEFAULTED,
    FROM_PROGRAM,
    RAISED_TO_YELLOW,
    net_read,
)
from rathaus.traffic.sim.scenario import ScenarioError, flow_departures, scenario_load
from tests.traffic.conftest import resco

NO_TLS = (
    b'<?xml version="1.0"?><net version="1.20"><edge id="a">'
    b'<lane id="a_0" index="0" length="10" speed="13"/></edge></net>'
)


def test_cologne1_becomes_one_intersection_with_the_programs_phases() -> None:
    info = net_read(resco("cologne1") / "cologne1.net.xml")
    assert list(info.intersections) == ["GS_cluster_357187_359543"]
    intersection = info.intersections["GS_cluster_357187_359543"]
    assert len(intersection.groups) == 20
    assert len(intersection.phases) == 4
    assert [p.max_green for p in intersection.phases] == [50.0] * 4
    # the program never shows 0 and 5 green together: they conflict, with the program's 5 s
    assert intersection.conflicts(0, 5)
    assert intersection.intergreen[(5, 0)] == 5.0
    assert all(lanes for lanes in (g.lanes for g in intersection.groups))
    plan = info.plans["GS_cluster_357187_359543"]
    assert plan.greens == ((0, 29.0), (1, 6.0), (2, 29.0), (3, 6.0))
    # each green begins where the program has it; the cycle counts the transitions too
    assert plan.starts == (0.0, 34.0, 45.0, 79.0)
    assert plan.cycle == 90.0


def test_a_network_without_traffic_lights_is_refused(tmp_path: Path) -> None:
    net = tmp_path / "plain.net.xml"
    net.write_bytes(NO_TLS)
    with pytest.raises(ModelError, match="no traffic lights"):
        net_read(net)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"<net><broken", "not well-formed"),
        (b"<routes/>", "not a SUMO network"),
        (
            b'<net><tlLogic id="t" programID="0"><phase duration="5" state="Gr"/>'
            b'<phase duration="5" state="Grr"/></tlLogic></net>',
            "differ in length",
        ),
        (
            b'<net><tlLogic id="t" programID="0"><phase duration="5" state="rr"/></tlLogic></net>',
            "never shows green",
        ),
        (b'<net><tlLogic id="t" programID="0"></tlLogic></net>', "no phases"),
        (
            b'<!DOCTYPE net [<!ENTITY x SYSTEM "file:///etc/passwd">]><net>&x;</net>',
            "no traffic lights",
        ),
    ],
)
def test_broken_networks_are_refused(tmp_path: Path, content: bytes, message: str) -> None:
    net = tmp_path / "bad.net.xml"
    net.write_bytes(content)
    with pytest.raises(ModelError, match=message):
        net_read(net)


#: Two plain edges a and b for the small hand-made networks below.
ROAD = (
    b'<edge id="a"><lane id="a_0" length="50"/></edge>'
    b'<edge id="b"><lane id="b_0" length="50"/></edge>'
)
#: The start of a network in which a and b merge into c at traffic light t (links 0, 1);
#: the tests add t's programs and close it.
MERGE = (
    b"<net>" + ROAD + b'<edge id="c"><lane id="c_0" length="50"/></edge>'
    b'<connection from="a" to="c" fromLane="0" toLane="0" tl="t" linkIndex="0"/>'
    b'<connection from="b" to="c" fromLane="0" toLane="0" tl="t" linkIndex="1"/>'
)


def program(program_id: str, *phases: tuple[float, str]) -> bytes:
    """A program of traffic light t: (duration, state) per phase."""
    body = "".join(f'<phase duration="{d:g}" state="{state}"/>' for d, state in phases)
    return f'<tlLogic id="t" programID="{program_id}">{body}</tlLogic>'.encode()


def test_a_program_that_never_releases_a_lane_is_refused(tmp_path: Path) -> None:
    # as in SUMO's game networks: one program per phase, switched by hand; the program
    # SUMO runs (the last) alone would keep link 1's vehicles at red forever
    net = tmp_path / "manual.net.xml"
    net.write_bytes(
        MERGE
        + program("0", (3, "ry"), (1000, "rG"))
        + program("1", (3, "yr"), (1000, "Gr"))
        + b"</net>"
    )
    with pytest.raises(ModelError, match=r"signal groups \[1\] are never green in program '1'"):
        net_read(net)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ((b'duration="30"', b'duration="thirty"'), "phase duration 'thirty' is not valid"),
        ((b'duration="30"', b'duration="-30"'), "phase duration '-30' is not valid"),
        ((b'duration="30"', b'duration="nan"'), "phase duration 'nan' is not valid"),
        ((b'<phase duration="30"', b'<phase minDur="x" duration="30"'), "'x' is not valid"),
        ((b'programID="day"', b'programID="day" offset="inf"'), "offset 'inf' is not a number"),
        ((b'length="50"', b'length="long"'), "length 'long' is not valid"),
        ((b"</net>", b'<junction id="t" x="east" y="0"/></net>'), "x 'east' is not a number"),
    ],
)
def test_numbers_that_are_not_numbers_are_refused(
    tmp_path: Path, change: tuple[bytes, bytes], message: str
) -> None:
    net = tmp_path / "bad.net.xml"
    content = MERGE + program("day", (30, "Gr"), (3, "yr"), (30, "rG"), (3, "ry")) + b"</net>"
    net.write_bytes(content.replace(*change, 1))
    with pytest.raises(ModelError, match=message):
        net_read(net)


def test_a_program_that_lasts_no_time_is_refused(tmp_path: Path) -> None:
    net = tmp_path / "bad.net.xml"
    net.write_bytes(MERGE + program("0", (0, "Gr"), (0, "rG")) + b"</net>")
    with pytest.raises(ModelError, match="lasts no time"):
        net_read(net)


def test_the_plan_is_the_program_sumo_runs_the_last_one_given(tmp_path: Path) -> None:
    net = tmp_path / "two.net.xml"
    net.write_bytes(
        MERGE
        + program("day", (30, "Gr"), (3, "yr"), (30, "rG"), (3, "ry"))
        + program("night", (20, "Gr"), (4, "yr"), (40, "rG"), (4, "ry"))
        + b"</net>"
    )
    info = net_read(net)
    assert [seconds for _, seconds in info.plans["t"].greens] == [20.0, 40.0]
    assert info.cycle_seconds["t"] == 68.0
    assert {g.yellow for g in info.intersections["t"].groups} == {4.0}


def one_light_net(tmp_path: Path, states: tuple[tuple[float, str], ...]) -> Path:
    """A network with traffic light t running ``states``: one incoming lane per signal
    group, all towards one exit."""
    net = tmp_path / "staggered.net.xml"
    links = "".join(
        f'<edge id="{e}"><lane id="{e}_0" length="50"/></edge>'
        f'<connection from="{e}" to="x" fromLane="0" toLane="0" tl="t" linkIndex="{i}"/>'
        for i, e in enumerate("abcdefgh"[: len(states[0][1])])
    )
    net.write_bytes(
        b'<net><edge id="x"><lane id="x_0" length="50"/></edge>'
        + links.encode()
        + program("0", *states)
        + b"</net>"
    )
    return net


def test_a_staggered_plan_gives_its_own_conflicts_and_intergreens(tmp_path: Path) -> None:
    # a plan drawn per signal group (as DLR's for its Braunschweig research intersection):
    # group 2 starts while group 0 still shows green, in a second in which group 3 shows
    # red-yellow; 0 and 2 are never green together in a phase of their own
    states = (
        (20, "GGrr"),
        (3, "Gyrr"),
        (2, "GrGu"),
        (3, "yrGG"),
        (20, "rrGG"),
        (3, "rryy"),
        (2, "uurr"),
    )
    net = one_light_net(tmp_path, states)
    intersection = net_read(net).intersections["t"]
    assert [sorted(p.greens) for p in intersection.phases] == [[0, 1], [2, 3]]
    assert not intersection.conflicts(0, 2)
    assert (0, 2) not in intersection.intergreen
    assert (2, 0) not in intersection.intergreen
    assert intersection.conflicts(0, 3)
    assert intersection.conflicts(1, 2)
    # each pair's intergreen is the plan's own, from the one's last green second to the
    # other's first, not the 8 s the whole transition takes
    assert intersection.intergreen[(1, 2)] == 3.0
    assert intersection.intergreen[(1, 3)] == 5.0
    # never shorter than the clearing group's yellow (3 starts as 0 turns yellow)
    assert intersection.intergreen[(0, 3)] == 3.0
    # and the import says so, for the engineer's review
    sources = net_read(net).intergreen_sources["t"]
    assert sources[(0, 3)] == RAISED_TO_YELLOW
    assert sources[(1, 2)] == FROM_PROGRAM
    # SUMO's replay of the plan shows no conflicting greens to the monitor
    monitor = SafetyMonitor(intersection)
    now = 0.0
    for _ in range(2):
        for seconds, state in states:
            monitor.observe(now, state)
            now += seconds
    assert not [v for v in monitor.violations if v.kind == "conflicting-greens"]


#: A plan drawn per signal group: group 0 starts 2 s before group 1, group 1 runs on 4 s
#: after group 0 has ended (3 s of them in group 0's yellow), group 4 is green for 3 s only.
STAGGERED = (
    (2, "Grrrr"),
    (18, "GGrrr"),
    (3, "yGrrr"),
    (1, "rGrrr"),
    (3, "ryrrr"),
    (3, "rrGrG"),
    (3, "rrGry"),
    (17, "rrGGr"),
    (3, "rryyr"),
    (2, "rrrrr"),
)


def staggered_net(tmp_path: Path) -> Path:
    return one_light_net(tmp_path, STAGGERED)


def test_a_staggered_plan_keeps_its_short_greens_and_each_groups_minimum(
    tmp_path: Path,
) -> None:
    info = net_read(staggered_net(tmp_path))
    intersection = info.intersections["t"]
    assert [sorted(p.greens) for p in intersection.phases] == [[0], [0, 1], [1], [2, 4], [2, 3]]
    # a set of greens the plan shows for a second or two keeps that as its minimum (the
    # default of 5 s would stretch the plan's cycle); the rule per group stays
    assert [p.min_green for p in intersection.phases] == [2.0, 5.0, 1.0, 3.0, 5.0]
    # each group's minimum is the shortest green the plan gives it, at most the default
    assert [g.min_green for g in intersection.groups] == [5.0, 5.0, 5.0, 5.0, 3.0]
    assert info.plans["t"].greens == ((0, 2.0), (1, 18.0), (2, 1.0), (3, 3.0), (4, 17.0))
    # group 2 follows group 1 directly, never group 0: that pair's intergreen is a
    # default (yellow plus all-red) the engineer has to review
    sources = info.intergreen_sources["t"]
    assert sources[(1, 2)] == FROM_PROGRAM
    assert sources[(0, 2)] == DEFAULTED
    assert intersection.intergreen[(0, 2)] == 5.0
    # every yellow of the plan is 3 s: none raised
    assert info.program_yellow == {}


def test_a_staggered_plan_runs_through_the_safety_layer_as_drawn(tmp_path: Path) -> None:
    info = net_read(staggered_net(tmp_path))
    intersection, plan = info.intersections["t"], info.plans["t"]
    assert plan.starts == (0.0, 2.0, 23.0, 27.0, 33.0)
    assert plan.cycle == 55.0
    layer = SafetyLayer(intersection, start_phase=0)
    view = LayerView(layer)
    fixed = FixedTime(intersection, plan)
    assert fixed.holds_plan
    monitor = SafetyMonitor(intersection)
    states = []
    for second in range(400):
        state = layer.step(float(second), fixed.decide(Observation(now=float(second)), view))
        monitor.observe(float(second), state)
        states.append(state)
    # after the first cycle (the layer starts dark for its intergreens, and the plan
    # catches up) every second shows what the plan draws: each set of greens for the
    # seconds the plan gives it (group 0 alone 2 s, group 1 running on alone into and
    # after group 0's yellow, group 4 green 3 s), the yellows where the plan has them,
    # the 55 s cycle on its clock; every group keeps its own minimum, and no proposal
    # is refused once the plan runs on time
    drawn = [state for seconds, state in STAGGERED for _ in range(seconds)]
    assert states[110:330] == drawn * 4
    refused = layer.refused
    assert refused <= 2
    for second in range(400, 600):
        layer.step(float(second), fixed.decide(Observation(now=float(second)), view))
    assert layer.refused == refused
    assert monitor.violations == []


def test_sumo_itself_runs_the_last_program_of_a_traffic_light(tmp_path: Path) -> None:
    # the check behind the rule above, on SUMO's own Braunschweig example (four programs,
    # one per phase of a signal game): SUMO starts program "3", and the import judges
    # that one too
    sumo = pytest.importorskip("sumo")
    net = Path(sumo.__file__).resolve().parent / "tools" / "game" / "bs3d" / "bs.net.xml"
    script = (
        "import libsumo, sys\n"
        "libsumo.start(['sumo', '-n', sys.argv[1], '--no-step-log', '--no-warnings'])\n"
        "print(*{libsumo.trafficlight.getProgram(t) for t in libsumo.trafficlight.getIDList()})\n"
        "libsumo.close()\n"
    )
    # a process of its own: libsumo keeps state between simulations in one process
    done = subprocess.run(  # noqa: S603 (our interpreter, our script)
        [sys.executable, "-c", script, str(net)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["3"]
    with pytest.raises(ModelError, match="in program '3'"):
        net_read(net)


def test_scenarios_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="does not exist"):
        scenario_load(tmp_path / "missing")
    (tmp_path / "a.sumocfg").write_text(
        '<configuration><input><net-file value="../../etc/passwd"/></input></configuration>'
    )
    with pytest.raises(ScenarioError, match="outside the scenario folder"):
        scenario_load(tmp_path)
    scenario = scenario_load(resco("cologne1"))
    assert (scenario.begin, scenario.end) == (25200.0, 28800.0)


def test_pedestrian_signals_show_no_yellow_but_keep_their_clearance(tmp_path: Path) -> None:
    # a road (link 0) and a pedestrian crossing over it (link 1, from a walking area to
    # the crossing), as netconvert builds them: the crossing goes from green to red
    net = tmp_path / "crossing.net.xml"
    net.write_bytes(
        b"<net>"
        + ROAD
        + b'<edge id=":j_w0" function="walkingarea"><lane id=":j_w0_0" length="3"/></edge>'
        b'<edge id=":j_c0" function="crossing"><lane id=":j_c0_0" length="8"/></edge>'
        b'<connection from="a" to="b" fromLane="0" toLane="0" tl="j" linkIndex="0"/>'
        b'<connection from=":j_w0" to=":j_c0" fromLane="0" toLane="0" tl="j" linkIndex="1"/>'
        b'<tlLogic id="j" programID="0"><phase duration="30" state="Gr"/>'
        b'<phase duration="4" state="yr"/><phase duration="15" state="rG"/>'
        b'<phase duration="5" state="rr"/></tlLogic></net>'
    )
    intersection = net_read(net).intersections["j"]
    road, crossing = intersection.groups
    assert (road.kind, road.yellow) == (GroupKind.VEHICLE, 4.0)
    assert (crossing.kind, crossing.yellow) == (GroupKind.PEDESTRIAN, 0.0)
    # the pedestrians' clearance before the road turns green stays in the intergreen
    assert intersection.intergreen[(1, 0)] == 5.0
    # SUMO's own program passes the monitor; our layer shows the crossing green to red
    monitor = SafetyMonitor(intersection)
    for now, state in ((0, "Gr"), (30, "yr"), (34, "rG"), (49, "rr"), (54, "Gr")):
        monitor.observe(now, state)
    assert monitor.violations == []
    layer = SafetyLayer(intersection)
    states = [layer.step(float(t), 1 if t < 60 else 0) for t in range(120)]
    assert "Gr" in states
    assert not any(state[1] == "y" for state in states)


def _flow(**attrs: str) -> etree._Element:
    return etree.fromstring(
        "<flow " + " ".join(f'{k}="{v}"' for k, v in {"id": "f", **attrs}.items()) + "/>"
    )


def test_flows_have_the_departures_sumo_gives_them() -> None:
    assert flow_departures(_flow(begin="10", end="40", period="10"), 0, 3600) == [
        ("f.0", 10.0),
        ("f.1", 20.0),
        ("f.2", 30.0),
    ]
    assert len(flow_departures(_flow(begin="0", end="3600", vehsPerHour="360"), 0, 3600)) == 360
    assert flow_departures(_flow(begin="0", end="100", number="4"), 0, 3600) == [
        ("f.0", 0.0),
        ("f.1", 25.0),
        ("f.2", 50.0),
        ("f.3", 75.0),
    ]
    # begin="0" means second 0, also in a scenario that starts later
    assert flow_departures(_flow(begin="0", end="20", period="10"), 25200, 28800) == [
        ("f.0", 0.0),
        ("f.1", 10.0),
    ]
    # without begin and end: from the simulation's begin, for 24 hours, cut at ``until``
    assert len(flow_departures(_flow(period="60"), 25200, 28800)) == 60
    assert flow_departures(_flow(begin="0", period="10", number="2"), 0, 3600)[-1] == ("f.1", 10.0)


@pytest.mark.parametrize(
    ("attrs", "message"),
    [
        ({"probability": "0.1"}, "at random"),
        ({"period": "exp(0.1)"}, "at random"),
        ({"begin": "0"}, "no period"),
        ({"period": "-5"}, "not a number"),
        ({"period": "soon"}, "not a number"),
        ({"period": "nan"}, "not a number"),
    ],
)
def test_flows_without_planned_departures_are_refused(
    attrs: dict[str, str], message: str, tmp_path: Path
) -> None:
    with pytest.raises(ScenarioError, match=message):
        flow_departures(_flow(**attrs), 0, 3600)
    # and already when the scenario is loaded
    (tmp_path / "net.net.xml").write_bytes((resco("cologne1") / "cologne1.net.xml").read_bytes())
    flow = " ".join(f'{k}="{v}"' for k, v in attrs.items())
    (tmp_path / "r.rou.xml").write_text(
        f'<routes><flow id="f" from="28198821#3" to="32038051#0" {flow}/></routes>'
    )
    (tmp_path / "s.sumocfg").write_text(
        '<configuration><input><net-file value="net.net.xml"/>'
        '<route-files value="r.rou.xml"/></input></configuration>'
    )
    with pytest.raises(ScenarioError, match=message):
        scenario_load(tmp_path)


#: A junction j with four links through it: 0 west-east and 1 south-north cross in the
#: middle; 2 (a cycle path, its internal lane only for bicycles) ends where 0 ends (a
#: merge); 3 runs beside 0 without touching anything. Link 1's path has two internal
#: lanes (it waits at an internal junction half-way).
GEOMETRY = (
    b"<net>"
    b'<edge id="w"><lane id="w_0" length="50"/><lane id="w_1" length="50"/></edge>'
    b'<edge id="s"><lane id="s_0" length="50"/></edge>'
    b'<edge id="e"><lane id="e_0" length="50"/><lane id="e_1" length="50"/></edge>'
    b'<edge id="n"><lane id="n_0" length="50"/></edge>'
    b'<edge id="c"><lane id="c_0" length="50" allow="bicycle"/></edge>'
    b'<edge id=":j_0" function="internal">'
    b'<lane id=":j_0_0" length="20" disallow="bicycle" shape="0,0 20,0"/></edge>'
    b'<edge id=":j_1" function="internal"><lane id=":j_1_0" length="10" shape="10,-10 10,0"/>'
    b"</edge>"
    b'<edge id=":j_2" function="internal"><lane id=":j_2_0" length="10" shape="10,0 10,10"/>'
    b"</edge>"
    b'<edge id=":j_3" function="internal">'
    b'<lane id=":j_3_0" length="25" allow="bicycle" shape="0,-15 20,0"/></edge>'
    b'<edge id=":j_4" function="internal"><lane id=":j_4_0" length="20" shape="0,15 20,15"/>'
    b"</edge>"
    b'<connection from="w" to="e" fromLane="0" toLane="0" via=":j_0_0" tl="j" linkIndex="0"/>'
    b'<connection from="s" to="n" fromLane="0" toLane="0" via=":j_1_0" tl="j" linkIndex="1"/>'
    b'<connection from=":j_1" to="n" fromLane="0" toLane="0" via=":j_2_0"/>'
    b'<connection from="c" to="e" fromLane="0" toLane="0" via=":j_3_0" tl="j" linkIndex="2"/>'
    b'<connection from="w" to="e" fromLane="1" toLane="1" via=":j_4_0" tl="j" linkIndex="3"/>'
    b'<tlLogic id="j" programID="0"><phase duration="30" state="GrrG"/>'
    b'<phase duration="4" state="yrry"/><phase duration="30" state="rGGr"/>'
    b'<phase duration="4" state="ryyr"/></tlLogic></net>'
)


def test_paths_that_cross_or_merge_in_the_junction_are_found(tmp_path: Path) -> None:
    net = tmp_path / "geometry.net.xml"
    net.write_bytes(GEOMETRY)
    info = net_read(net)
    paths = info.intersections["j"].crossing_paths
    # 0 and 1 cross (1's path continues over its second internal lane), 0 and 2 merge
    assert {(0, 1), (1, 0), (0, 2), (2, 0)} <= paths
    # 3 runs beside 0 and crosses nothing
    assert not {pair for pair in paths if 3 in pair}
    # where the harness looks for cyclists: internal lanes that admit bicycles
    assert info.box_lanes["j"] == {1: (":j_1_0", ":j_2_0"), 2: (":j_3_0",), 3: (":j_4_0",)}


def test_cologne1s_crossing_paths_go_both_ways() -> None:
    intersection = net_read(resco("cologne1") / "cologne1.net.xml").intersections[
        "GS_cluster_357187_359543"
    ]
    paths = intersection.crossing_paths
    assert paths
    assert all((b, a) in paths for a, b in paths)
    # a permissive left turn crosses the opposing stream it may be green with
    assert any(a < b and not intersection.conflicts(a, b) for a, b in paths)


def test_an_intersection_survives_its_round_trip_as_data() -> None:
    info = net_read(resco("cologne1") / "cologne1.net.xml")
    intersection = info.intersections["GS_cluster_357187_359543"]
    data = json.loads(json.dumps(intersection_as_data(intersection)))
    again = intersection_from_data(data, crossing_paths=intersection.crossing_paths)
    assert again == intersection


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("groups"), "Not an intersection's data"),
        (lambda d: d["phases"][0].update(greens="x"), "Not an intersection's data"),
        (lambda d: d["groups"][0].update(kind="rocket"), "Not an intersection's data"),
        (lambda d: d["intergreen"][0].append(1), "Not an intersection's data"),
        (lambda d: d.update(intergreen=None), "Not an intersection's data"),
        (lambda d: d["intergreen"].pop(0), "no counterpart"),
        (lambda d: d["phases"][0].update(greens=[0, 5]), "conflicting greens"),
    ],
)
def test_broken_or_unsafe_intersection_data_is_refused(change: Any, message: str) -> None:
    info = net_read(resco("cologne1") / "cologne1.net.xml")
    data = intersection_as_data(info.intersections["GS_cluster_357187_359543"])
    change(data)
    with pytest.raises(ModelError, match=message):
        intersection_from_data(data)
