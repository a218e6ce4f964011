"""Building model, import, routes, directions, floor plans and robot stops."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from rathaus.assistant import selectors
from rathaus.assistant.demo import DEFAULT_ROOMS, demo_floors
from rathaus.assistant.models import Building, Edge, Floor, Node
from rathaus.assistant.services import building_floors_read, building_import, device_create
from rathaus.assistant.wayfinding import NoRoute, graph_load, route_find, route_svg
from rathaus.core.errors import NotFound, ValidationFailed
from rathaus.core.models import Municipality
from tests.assistant.conftest import make_location

pytestmark = pytest.mark.django_db


def kinds(route: Any) -> list[str]:
    return [link.kind for link in route.links]


def test_import_builds_floors_places_and_connections(building: Building) -> None:
    assert sorted(building.floors.values_list("level", flat=True)) == [0, 1]
    assert Node.objects.filter(
        floor__building=building, kind=Node.Kind.COUNTER, room="E.01"
    ).exists()
    lift = Edge.objects.get(building=building, kind=Edge.Kind.LIFT)
    assert lift.start.floor.level != lift.end.floor.level
    walk = Edge.objects.filter(building=building, kind=Edge.Kind.WALK).first()
    assert walk is not None
    assert walk.distance > 0


def test_shortest_route_takes_stairs_barrier_free_takes_the_lift(building: Building) -> None:
    _graph, route = selectors.route_for(location=building.location, target="1.02")
    assert Edge.Kind.STAIRS in kinds(route)
    _graph, free = selectors.route_for(location=building.location, target="1.02", barrier_free=True)
    assert Edge.Kind.STAIRS not in kinds(free)
    assert Edge.Kind.LIFT in kinds(free)
    assert all(link.steps == 0 for link in free.links)
    assert free.target.room == "1.02"


def test_barrier_free_from_the_entrances_avoids_the_steps(building: Building) -> None:
    graph = graph_load(building)
    main = graph.by_key("entrance", 0)
    target = graph.by_room("E.02")
    assert main is not None
    assert target is not None
    plain = route_find(graph, start=main, target=target)
    assert plain.start.key == "entrance"
    with pytest.raises(NoRoute) as refused:
        route_find(graph, start=main, target=target, barrier_free=True)
    # There is a way in, just not from the main entrance with its steps: route_for picks the ramp.
    assert refused.value.code == "no_barrier_free_route"
    node = Node.objects.get(floor__building=building, key="kiosk")
    node.delete()  # without a kiosk the route starts at an entrance
    _graph, free = selectors.route_for(location=building.location, target="E.02", barrier_free=True)
    assert free.start.key == "side-entrance"
    assert Edge.Kind.RAMP in kinds(free)


def test_directions_in_german_and_english(building: Building) -> None:
    _g, german = selectors.route_for(
        location=building.location, target="1.01", barrier_free=True, language="de"
    )
    _g, english = selectors.route_for(
        location=building.location, target="1.01", barrier_free=True, language="en"
    )
    assert any("Aufzug" in step.text for step in german.steps)
    assert any("lift" in step.text for step in english.steps)
    assert german.steps[-1].text.startswith("Sie sind angekommen")
    assert english.steps[-1].text.startswith("You have arrived")


def test_svg_plan_draws_the_route_with_a_text_alternative(building: Building) -> None:
    graph, route = selectors.route_for(location=building.location, target="E.03", language="en")
    svg = route_svg(graph, route, level=0, title_id="plan-0")
    assert svg.startswith("<svg")
    assert 'role="img"' in svg
    assert '<title id="plan-0">' in svg
    assert "<desc" in svg
    assert 'class="plan-route"' in svg
    assert "You have arrived" in svg  # the steps are the description


def test_no_barrier_free_path_says_so_and_offers_help(municipality: Municipality) -> None:
    floors = demo_floors(DEFAULT_ROOMS)
    # Remove the lift and the ramp: the upper floor has only stairs.
    for floor in floors:
        floor["features"] = [
            f
            for f in floor["features"]
            if f["geometry"]["type"] == "Point"
            or f["properties"].get("kind") not in ("lift", "ramp")
        ]
    building = building_import(location=make_location(municipality), floors=floors)
    with pytest.raises(NoRoute) as refused:
        selectors.route_for(location=building.location, target="1.01", barrier_free=True)
    assert refused.value.code == "no_barrier_free_route"
    assert "Information" in str(refused.value.message)  # offers help at the desk


def test_unconnected_floor_and_unknown_places(municipality: Municipality) -> None:
    floors = demo_floors(DEFAULT_ROOMS)
    floors[1]["features"] = [
        f
        for f in floors[1]["features"]
        if not str(f["properties"].get("from", "")).startswith("0:")
    ]
    building = building_import(location=make_location(municipality), floors=floors)
    with pytest.raises(NoRoute) as refused:
        selectors.route_for(location=building.location, target="1.01")
    assert refused.value.code == "unreachable"
    with pytest.raises(NotFound):
        selectors.route_for(location=building.location, target="Z.99")
    with pytest.raises(NotFound):
        selectors.route_for(location=make_location(municipality, "Ohne Plan"), target="E.01")


def test_robot_stops_before_stairs_and_lift_and_tells_the_visitor(
    municipality: Municipality, building: Building
) -> None:
    position = Node.objects.get(floor__building=building, key="kiosk")
    device, _secret = device_create(
        municipality=municipality,
        actor=None,
        name="R",
        kind="robot",
        location=building.location,
        position=position,
    )
    _g, route = selectors.route_for(
        location=building.location, target="1.02", barrier_free=True, robot=device
    )
    assert route.robot_stop is not None
    assert route.robot_stop.kind == Node.Kind.LIFT
    assert route.waypoints()[-1]["key"] == route.robot_stop.key
    assert route.waypoints()[0]["key"] == "kiosk"
    assert "Aufzug" in route.robot_message
    _g, ground = selectors.route_for(location=building.location, target="E.01", robot=device)
    assert ground.robot_stop is None
    assert ground.waypoints()[-1]["key"] == ground.target.key


def floor_doc(**changes: Any) -> list[dict[str, Any]]:
    floors = copy.deepcopy(demo_floors(DEFAULT_ROOMS))
    floors[0].update(changes)
    return floors


@pytest.mark.parametrize(
    "mutate",
    [
        lambda f: f[0].update({"type": "Polygon"}),
        lambda f: f[0]["properties"].update({"level": "EG"}),
        lambda f: f[1]["properties"].update({"level": 0}),
        lambda f: f[0]["features"][0]["properties"].update({"kind": "trampoline"}),
        lambda f: f[0]["features"][0]["properties"].update({"key": "Bad Key!"}),
        lambda f: f[0]["features"][0]["geometry"].update({"coordinates": [float("nan"), 1]}),
        lambda f: f[0]["features"][0]["geometry"].update({"coordinates": [-5, 1]}),
        lambda f: f[0]["features"][0]["geometry"].update({"coordinates": ["1", 1]}),
        lambda f: f[0]["features"].append(copy.deepcopy(f[0]["features"][0])),
        lambda f: f[1]["features"].append(
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": []},
                "properties": {"from": "stairs", "to": "7:nowhere"},
            }
        ),
        lambda f: f[0]["features"].extend([f[0]["features"][0]] * 2001),
    ],
)
def test_hostile_imports_change_nothing(municipality: Municipality, mutate: Any) -> None:
    location = make_location(municipality)
    building = building_import(location=location, floors=demo_floors(DEFAULT_ROOMS))
    before = (Floor.objects.count(), Node.objects.count(), Edge.objects.count())
    floors = copy.deepcopy(demo_floors(DEFAULT_ROOMS))
    mutate(floors)
    with pytest.raises(ValidationFailed) as refused:
        building_import(location=location, floors=floors)
    assert refused.value.fields["floors"]
    assert (Floor.objects.count(), Node.objects.count(), Edge.objects.count()) == before
    assert Building.objects.get(pk=building.pk)


def test_upload_reader_refuses_bad_files() -> None:
    with pytest.raises(ValidationFailed):
        building_floors_read(b"\xff\xfe not json")
    with pytest.raises(ValidationFailed):
        building_floors_read(b"[" * 3_000_000)
    with pytest.raises(ValidationFailed):
        building_floors_read(b"[" * 100_000 + b"]" * 100_000)
    assert building_floors_read(json.dumps({"type": "FeatureCollection"}).encode()) == [
        {"type": "FeatureCollection"}
    ]
    with pytest.raises(ValidationFailed):
        building_import(location=None, floors=[])  # type: ignore[arg-type]
