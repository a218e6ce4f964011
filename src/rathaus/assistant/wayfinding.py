"""Routes through a building: Dijkstra over the building graph, directions, SVG, waypoints.

The graph is loaded once per request from ``Floor``/``Node``/``Edge``. Edges are walkable
both ways. Barrier-free routes never use stairs, edges with steps, or doors narrower than
90 cm (DIN 18040-1). A lift costs a fixed detour so that a short flight of stairs beats a
lift for those who can climb. Directions are generated in the language asked for; the SVG
draws each floor the route crosses and carries its own text alternative.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from django.utils import translation
from django.utils.translation import gettext as _

from rathaus.assistant.models import Building, Edge, Floor, Node
from rathaus.core.errors import ApplicationError, NotFound

MIN_DOOR_WIDTH_CM = 90
LIFT_PENALTY_M = 15.0
TURN_DEGREES = 35
SCALE = 12  # SVG pixels per metre
MARGIN = 3.0


class NoRoute(ApplicationError):
    status = 422
    default_code = "no_route"


@dataclass(frozen=True)
class Place:
    id: int
    key: str
    kind: str
    name: str
    room: str
    level: int
    floor_name: str
    x: float
    y: float

    @property
    def label(self) -> str:
        if self.name and self.room and self.room not in self.name:
            return f"{self.name} ({self.room})"
        return self.name or self.room or self.key


@dataclass(frozen=True)
class Link:
    target: int
    kind: str
    distance: float
    steps: int
    width_cm: int | None

    def barrier_free(self) -> bool:
        if self.kind == Edge.Kind.STAIRS or self.steps > 0:
            return False
        return self.width_cm is None or self.width_cm >= MIN_DOOR_WIDTH_CM


@dataclass
class Graph:
    building: Building
    places: dict[int, Place]
    links: dict[int, list[Link]]
    floors: dict[int, Floor]

    def by_key(self, key: str, level: int | None = None) -> Place | None:
        for place in self.places.values():
            if place.key == key and (level is None or place.level == level):
                return place
        return None

    def by_room(self, room: str) -> Place | None:
        wanted = room.strip().casefold()
        if not wanted:
            return None
        for place in self.places.values():
            if place.room.casefold() == wanted or place.key.casefold() == wanted:
                return place
        return None

    def entrance(self) -> Place | None:
        entrances = [p for p in self.places.values() if p.kind == Node.Kind.ENTRANCE]
        entrances.sort(key=lambda p: (abs(p.level), p.key))
        return entrances[0] if entrances else None


@dataclass(frozen=True)
class Step:
    text: str
    level: int
    place: Place | None = None


@dataclass
class Route:
    start: Place
    target: Place
    barrier_free: bool
    places: list[Place]
    links: list[Link]
    steps: list[Step]
    distance: float
    language: str
    robot_stop: Place | None = None
    robot_message: str = ""
    floors: list[int] = field(default_factory=list)

    def waypoints(self) -> list[dict[str, object]]:
        """The route as coordinates per floor, for a robot; up to its stop if it has one."""
        result: list[dict[str, object]] = []
        for place in self.places:
            result.append(
                {
                    "key": place.key,
                    "level": place.level,
                    "x": place.x,
                    "y": place.y,
                    "kind": place.kind,
                }
            )
            if self.robot_stop is not None and place.id == self.robot_stop.id:
                break
        return result


def graph_load(building: Building, *, language: str = "de") -> Graph:
    """The building's graph with names in ``language`` (German where no English)."""
    english = language == "en"
    floors = {floor.pk: floor for floor in Floor.objects.filter(building=building)}
    places: dict[int, Place] = {}
    for node in Node.objects.filter(floor__building=building).order_by("pk"):
        floor = floors[node.floor_id]
        places[node.pk] = Place(
            id=node.pk,
            key=node.key,
            kind=node.kind,
            name=(english and node.name_en) or node.name_de,
            room=node.room,
            level=floor.level,
            floor_name=(english and floor.name_en) or floor.name_de,
            x=node.x,
            y=node.y,
        )
    links: dict[int, list[Link]] = {pk: [] for pk in places}
    for edge in Edge.objects.filter(building=building).order_by("pk"):
        if edge.start_id not in places or edge.end_id not in places:
            continue
        for a, b in ((edge.start_id, edge.end_id), (edge.end_id, edge.start_id)):
            links[a].append(Link(b, edge.kind, edge.distance, edge.steps, edge.width_cm))
    return Graph(
        building=building,
        places=places,
        links=links,
        floors={f.level: f for f in floors.values()},
    )


def _dijkstra(
    graph: Graph, start: int, target: int, *, barrier_free: bool
) -> tuple[list[int], list[Link]] | None:
    best: dict[int, float] = {start: 0.0}
    back: dict[int, tuple[int, Link]] = {}
    queue: list[tuple[float, int]] = [(0.0, start)]
    while queue:
        cost, current = heapq.heappop(queue)
        if current == target:
            break
        if cost > best.get(current, math.inf):
            continue
        for link in graph.links.get(current, []):
            if barrier_free and not link.barrier_free():
                continue
            extra = LIFT_PENALTY_M if link.kind == Edge.Kind.LIFT else 0.0
            value = cost + link.distance + extra
            if value < best.get(link.target, math.inf):
                best[link.target] = value
                back[link.target] = (current, link)
                heapq.heappush(queue, (value, link.target))
    if target not in best:
        return None
    nodes, used = [target], []
    while nodes[-1] != start:
        previous, link = back[nodes[-1]]
        used.append(link)
        nodes.append(previous)
    nodes.reverse()
    used.reverse()
    return nodes, used


def _turn(a: Place, b: Place, c: Place) -> str:
    """ "left", "right" or "" at ``b`` coming from ``a`` going to ``c`` (y points down)."""
    v1 = (b.x - a.x, b.y - a.y)
    v2 = (c.x - b.x, c.y - b.y)
    if (v1 == (0, 0)) or (v2 == (0, 0)):
        return ""
    angle = math.degrees(math.atan2(v1[0] * v2[1] - v1[1] * v2[0], v1[0] * v2[0] + v1[1] * v2[1]))
    if angle > TURN_DEGREES:
        return "right"
    if angle < -TURN_DEGREES:
        return "left"
    return ""


def _floor_phrase(place: Place) -> str:
    return place.floor_name or _("level %(level)s") % {"level": place.level}


def _directions(places: list[Place], links: list[Link]) -> list[Step]:
    steps: list[Step] = []
    walked = 0.0
    for index, link in enumerate(links):
        here, there = places[index], places[index + 1]
        if link.kind in (Edge.Kind.LIFT, Edge.Kind.STAIRS):
            if walked:
                steps.append(Step(_("Walk %(metres)s m.") % {"metres": round(walked)}, here.level))
                walked = 0.0
            up = there.level > here.level
            if link.kind == Edge.Kind.LIFT:
                text = _("Take the lift to %(floor)s.")
            elif up:
                text = _("Take the stairs up to %(floor)s.")
            else:
                text = _("Take the stairs down to %(floor)s.")
            steps.append(Step(text % {"floor": _floor_phrase(there)}, there.level, there))
            continue
        walked += link.distance
        if link.kind == Edge.Kind.RAMP:
            steps.append(Step(_("Use the ramp."), here.level, here))
        elif link.kind == Edge.Kind.DOOR and there.kind == Node.Kind.DOOR:
            steps.append(
                Step(_("Go through the door %(door)s.") % {"door": there.label}, here.level, there)
            )
        if index + 1 < len(links):
            following = links[index + 1]
            after = places[index + 2]
            if following.kind in (Edge.Kind.LIFT, Edge.Kind.STAIRS) or after.level != there.level:
                continue
            turn = _turn(here, there, after)
            if turn:
                steps.append(Step(_("Walk %(metres)s m.") % {"metres": round(walked)}, there.level))
                walked = 0.0
                named = bool(there.name or there.room)
                if turn == "left":
                    text = (
                        _("Turn left at %(place)s.") % {"place": there.label}
                        if named
                        else _("Turn left.")
                    )
                else:
                    text = (
                        _("Turn right at %(place)s.") % {"place": there.label}
                        if named
                        else _("Turn right.")
                    )
                steps.append(Step(text, there.level, there))
    if walked:
        steps.append(Step(_("Walk %(metres)s m.") % {"metres": round(walked)}, places[-1].level))
    target = places[-1]
    steps.append(
        Step(
            _("You have arrived: %(place)s, %(floor)s.")
            % {"place": target.label, "floor": _floor_phrase(target)},
            target.level,
            target,
        )
    )
    return steps


def route_find(
    graph: Graph,
    *,
    start: Place,
    target: Place,
    barrier_free: bool = False,
    language: str = "de",
    robot_can_use_stairs: bool | None = None,
    robot_can_use_lifts: bool | None = None,
) -> Route:
    """The shortest (barrier-free if asked) route; ``NoRoute`` says clearly why there is none.

    With robot capabilities given, the route also says where the robot must stop (before
    the first stairs or lift it cannot use) and what to tell the visitor from there.
    """
    with translation.override(language):
        if start.id == target.id:
            found: tuple[list[int], list[Link]] | None = ([start.id], [])
        else:
            found = _dijkstra(graph, start.id, target.id, barrier_free=barrier_free)
        if found is None:
            if barrier_free and _dijkstra(graph, start.id, target.id, barrier_free=False):
                raise NoRoute(
                    _(
                        "There is no step-free way to %(place)s. Please ask at the "
                        "information desk: our staff will help you or come to you."
                    )
                    % {"place": target.label},
                    code="no_barrier_free_route",
                )
            raise NoRoute(
                _(
                    "%(place)s cannot be reached from here on the building plan. Please ask "
                    "at the information desk."
                )
                % {"place": target.label},
                code="unreachable",
            )
        ids, links = found
        places = [graph.places[pk] for pk in ids]
        steps = _directions(places, links)
        route = Route(
            start=start,
            target=target,
            barrier_free=barrier_free,
            places=places,
            links=links,
            steps=steps,
            distance=round(sum(link.distance for link in links), 1),
            language=language,
            floors=list(dict.fromkeys(place.level for place in places)),
        )
        if robot_can_use_stairs is not None or robot_can_use_lifts is not None:
            for index, link in enumerate(links):
                blocked = (link.kind == Edge.Kind.STAIRS and not robot_can_use_stairs) or (
                    link.kind == Edge.Kind.LIFT and not robot_can_use_lifts
                )
                if blocked:
                    route.robot_stop = places[index]
                    rest = _directions(places[index:], links[index:])
                    route.robot_message = " ".join(
                        [_("I cannot go further with you from here.")]
                        + [step.text for step in rest]
                    )
                    break
        return route


def place_find(graph: Graph, reference: str) -> Place:
    """A place by key ("lift-a", "1:lift-a" for another level) or room number, or 404."""
    reference = reference.strip()[:80]
    level: int | None = None
    key = reference
    if ":" in reference:
        head, _sep, tail = reference.partition(":")
        if head.lstrip("-").isdigit():
            level, key = int(head), tail
    place = graph.by_key(key, level) or graph.by_room(reference)
    if place is None:
        raise NotFound(_("There is no such room or place in this building."), code="unknown_place")
    return place


def route_svg(graph: Graph, route: Route, *, level: int, title_id: str) -> str:
    """An SVG plan of ``level`` with the route drawn; its text alternative lists the steps."""
    places = [p for p in graph.places.values() if p.level == level]
    if not places:
        return ""
    min_x = min(p.x for p in places) - MARGIN
    min_y = min(p.y for p in places) - MARGIN
    width = (max(p.x for p in places) + MARGIN - min_x) * SCALE
    height = (max(p.y for p in places) + MARGIN - min_y) * SCALE

    def px(place: Place) -> tuple[float, float]:
        return (round((place.x - min_x) * SCALE, 1), round((place.y - min_y) * SCALE, 1))

    floor = graph.floors.get(level)
    floor_name = (
        ((route.language == "en" and floor.name_en) or floor.name_de) if floor else str(level)
    )
    with translation.override(route.language):
        title = _("Floor plan %(floor)s with the route to %(place)s") % {
            "floor": floor_name,
            "place": route.target.label,
        }
    steps = " ".join(step.text for step in route.steps if step.level == level)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="assistant-plan" role="img" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" aria-labelledby="{title_id} {title_id}-desc">',
        f'<title id="{title_id}">{escape(title)}</title>',
        f'<desc id="{title_id}-desc">{escape(steps)}</desc>',
        '<g class="plan-edges">',
    ]
    seen = set()
    for place in places:
        for link in graph.links.get(place.id, []):
            other = graph.places[link.target]
            pair = tuple(sorted((place.id, other.id)))
            if other.level != level or pair in seen:
                continue
            seen.add(pair)
            (x1, y1), (x2, y2) = px(place), px(other)
            parts.append(
                f'<line class="plan-edge plan-edge-{link.kind}" x1="{x1}" y1="{y1}" '
                f'x2="{x2}" y2="{y2}"/>'
            )
    parts.append("</g>")
    on_level = [p for p in route.places if p.level == level]
    if len(on_level) > 1:
        points = " ".join(f"{x},{y}" for x, y in (px(p) for p in on_level))
        parts.append(f'<polyline class="plan-route" points="{points}"/>')
    parts.append('<g class="plan-places">')
    for place in places:
        x, y = px(place)
        marker = " plan-target" if place.id == route.target.id else ""
        marker += " plan-start" if place.id == route.start.id else ""
        parts.append(
            f'<circle class="plan-place plan-{place.kind}{marker}" cx="{x}" cy="{y}" r="6"/>'
        )
        if place.kind not in (Node.Kind.CORRIDOR, Node.Kind.DOOR):
            parts.append(
                f'<text class="plan-label" x="{x + 9}" y="{y - 8}">{escape(place.label)}</text>'
            )
    parts.append("</g></svg>")
    return "".join(parts)
