"""Reads of the service assistant: answers to questions, buildings, routes, statistics."""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db.models import QuerySet, Sum
from django.utils import translation
from django.utils.translation import gettext as _

from rathaus.assistant.catalog_index import catalog_index
from rathaus.assistant.engine import fold
from rathaus.assistant.engine.analysis import STOPWORDS
from rathaus.assistant.models import Building, Device, LexiconEntry, Node, QuestionStat
from rathaus.assistant.wayfinding import Graph, graph_load
from rathaus.catalog.fees import fee_label, format_fee
from rathaus.catalog.models import Location, Service, ServiceLocation
from rathaus.catalog.text import plain_text
from rathaus.core.errors import ValidationFailed
from rathaus.core.models import Municipality

logger = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 1000
DEFAULT_LIMIT = 5
# The top answers are "close" when the second scores at least this share of the first:
# then the assistant asks which one is meant.
CLOSE_RATIO = 0.8
# Below this engine score an answer is "no good answer" in the statistics.
GOOD_SCORE = 4.0
# The statistics page lists a question only once it was asked this often (in the period):
# whatever a single visitor typed (a name, say) is never shown.
MIN_STAT_COUNT = 2
WAITING_FOR_FIRST = 3
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass
class ServiceAnswer:
    """One service in an answer, with everything a visitor needs to act on it."""

    service: Service
    score: float
    matched: tuple[str, ...]
    name: str
    summary: str
    documents: list[str]
    fees: list[str]
    online_mode: str
    online_url: str
    application_slug: str
    appointment: bool
    bookable_online: bool
    location: Location | None = None
    room: str = ""
    floor: str = ""
    place_key: str = ""
    waiting: Any = None  # buergerbuero.selectors.WaitingEstimate when the office has a queue
    has_queue: bool = False


@dataclass
class Answer:
    question: str
    language: str
    results: list[ServiceAnswer] = field(default_factory=list)
    clarify: list[ServiceAnswer] = field(default_factory=list)

    @property
    def answered(self) -> bool:
        return bool(self.results) and self.results[0].score >= GOOD_SCORE


def question_clean(question: object) -> str:
    """The question as text the engine can take; ``ValidationFailed`` if there is none."""
    if not isinstance(question, str):
        raise ValidationFailed(fields={"question": [_("Enter a question.")]})
    text = _CONTROL.sub(" ", unicodedata.normalize("NFC", question.replace("\ufffd", " ")))
    text = " ".join(text.split())
    if len(text) > MAX_QUESTION_CHARS:
        raise ValidationFailed(
            fields={
                "question": [
                    _("Ask in at most %(limit)s characters.") % {"limit": MAX_QUESTION_CHARS}
                ]
            },
            code="too_long",
        )
    if not any(char.isalnum() for char in text):
        raise ValidationFailed(fields={"question": [_("Enter a question.")]}, code="empty")
    return text


def question_words(question: str) -> str:
    """The anonymous form of a question kept in the statistics: folded content words only,
    without numbers (dates, phone numbers, case numbers) and e-mail addresses."""
    question = re.sub(r"\S+@\S+", " ", question)
    words = [
        word
        for word in re.findall(r"[^\W\d_]+", question.lower())
        if len(word) > 1 and fold(word) not in STOPWORDS
    ]
    return " ".join(words[:12])[:200]


def _documents(service: Service, english: bool) -> list[str]:
    names = []
    for item in service.documents or []:
        if isinstance(item, dict):
            name = str((english and item.get("name_en")) or item.get("name_de") or "")
            if name:
                names.append(plain_text(name)[:300])
    return names[:12]


def _fees(service: Service, language: str) -> list[str]:
    lines = []
    with translation.override(language):
        for item in service.fees or []:
            if not isinstance(item, dict):
                continue
            amount = format_fee(item)
            label = fee_label(item)
            if amount:
                lines.append(f"{label}: {amount}" if label else amount)
        if not lines and service.fees_text:
            lines.append(plain_text(service.fees_text)[:300])
    return lines[:6]


def _application_slug(service: Service) -> str:
    from rathaus.applications.selectors import form_for_service

    return service.slug if form_for_service(service_id=service.pk) is not None else ""


def _where(
    answer: ServiceAnswer,
    *,
    here: Location | None,
    buildings: dict[int, Graph],
    waiting: bool = True,
) -> None:
    """Fill in where to go: this location when it offers the service, else the first one."""
    offers = list(
        ServiceLocation.objects.filter(service=answer.service, location__is_public=True)
        .select_related("location")
        .order_by("location__name_de", "location_id")
    )
    locations = [offer.location for offer in offers]
    chosen = next((loc for loc in locations if here and loc.pk == here.pk), None)
    if chosen is None and locations:
        chosen = locations[0]
    answer.location = chosen
    if chosen is None:
        return
    from rathaus.buergerbuero.models import Counter
    from rathaus.buergerbuero.selectors import office_of, waiting_estimate

    office = office_of(chosen)
    if office is not None and office.is_active:
        answer.has_queue = True
        if waiting:
            try:
                answer.waiting = waiting_estimate(location=chosen, service=answer.service)
            except Exception:  # the estimate is a courtesy: never fail the answer for it
                logger.exception("waiting estimate failed for location %s", chosen.pk)
        counter = (
            Counter.objects.filter(office=office, is_active=True)
            .exclude(room="")
            .order_by("position", "name")
            .first()
        )
        if counter is not None:
            answer.room, answer.floor = counter.room, counter.floor
    graph = buildings.get(chosen.pk)
    if graph is None:
        building = Building.objects.filter(location=chosen).first()
        if building is not None:
            graph = buildings[chosen.pk] = graph_load(building)
    if graph is not None:
        place = graph.by_room(answer.room) if answer.room else None
        if place is None:
            areas = [p for p in graph.places.values() if p.kind == Node.Kind.WAITING]
            place = areas[0] if areas else None
        if place is not None:
            answer.place_key = f"{place.level}:{place.key}"
            answer.room = answer.room or place.room or place.name
            answer.floor = answer.floor or place.floor_name


def assistant_answer(
    *,
    municipality: Municipality,
    question: str,
    language: str = "de",
    location: Location | None = None,
    limit: int = DEFAULT_LIMIT,
    details: bool = True,
) -> Answer:
    """Ranked services for a citizen's question, with why, what to bring, fees, where to go,
    online and appointment options and the waiting time; ``clarify`` holds the services to
    choose between when the best answers are close."""
    text = question_clean(question)
    language = "en" if language == "en" else "de"
    limit = max(1, min(limit, 20))
    current = catalog_index(municipality)
    hits = current.index.search(text, limit=limit)
    answer = Answer(question=text, language=language)
    if not hits:
        return answer
    rows = Service.objects.filter(
        municipality=municipality, is_public=True, pk__in=[int(hit.doc_id) for hit in hits]
    )
    by_id = {str(row.pk): row for row in rows}
    english = language == "en"
    buildings: dict[int, Graph] = {}
    for hit in hits:
        service = by_id.get(hit.doc_id)
        if service is None:
            continue
        # The waiting time (the costliest detail) is worked out for the first answers only.
        with_waiting = len(answer.results) < WAITING_FOR_FIRST
        item = ServiceAnswer(
            service=service,
            score=hit.score,
            matched=hit.matched,
            name=(english and service.name_en) or service.name_de,
            summary=(english and service.summary_en) or service.summary_de,
            documents=_documents(service, english) if details else [],
            fees=_fees(service, language) if details else [],
            online_mode=service.online_mode,
            online_url=service.online_url,
            application_slug=_application_slug(service) if details else "",
            appointment=service.appointment,
            bookable_online=service.bookable_online,
        )
        if details:
            _where(item, here=location, buildings=buildings, waiting=with_waiting)
        answer.results.append(item)
    top = answer.results
    if len(top) >= 2 and top[1].score >= CLOSE_RATIO * top[0].score:
        answer.clarify = [item for item in top[:3] if item.score >= CLOSE_RATIO * top[0].score]
    return answer


def assistant_rank(
    *, municipality: Municipality, question: str, limit: int = 10
) -> list[dict[str, Any]]:
    """The ranking alone as plain data (the CLI contract): best first."""
    current = catalog_index(municipality)
    try:
        text = question_clean(question)
    except ValidationFailed:
        return []
    results = []
    for hit in current.index.search(text, limit=limit):
        service = current.services.get(hit.doc_id)
        if service is None:
            continue
        results.append(
            {
                "service_id": service.source_id or str(service.id),
                "score": hit.score,
                "name": service.name_de,
                "slug": service.slug,
                "matched": list(hit.matched),
            }
        )
    return results


def building_for_location(*, location: Location) -> Building | None:
    """The building model of a location, if one was made."""
    return Building.objects.filter(location=location).select_related("location").first()


def building_list(*, municipality: Municipality) -> QuerySet[Building]:
    return Building.objects.filter(municipality=municipality).select_related("location")


def default_building(*, municipality: Municipality) -> Building | None:
    """The first building of the municipality (the kiosk's when none is named)."""
    return building_list(municipality=municipality).order_by("pk").first()


def lexicon_entry_list(*, municipality: Municipality) -> QuerySet[LexiconEntry]:
    return LexiconEntry.objects.filter(municipality=municipality).order_by("terms", "pk")


def device_list(*, municipality: Municipality) -> QuerySet[Device]:
    return Device.objects.filter(municipality=municipality).select_related("location")


@dataclass(frozen=True)
class StatRow:
    words: str
    count: int
    answered: bool
    top_service: str
    top_score: float
    helpful: int
    not_helpful: int


def statistics(*, municipality: Municipality, days: int = 30) -> dict[str, list[StatRow]]:
    """Frequent questions, questions without a good answer, and feedback over ``days``."""
    since = date.today() - timedelta(days=max(1, min(days, 366)))
    rows = (
        QuestionStat.objects.filter(municipality=municipality, day__gte=since)
        .values("words", "answered", "top_service__name_de")
        .annotate(total=Sum("count"), yes=Sum("helpful"), no=Sum("not_helpful"))
        .order_by("-total", "words")
    )
    items = [
        StatRow(
            words=row["words"],
            count=row["total"] or 0,
            answered=row["answered"],
            top_service=row["top_service__name_de"] or "",
            top_score=0.0,
            helpful=row["yes"] or 0,
            not_helpful=row["no"] or 0,
        )
        for row in rows[:500]
        if (row["total"] or 0) >= MIN_STAT_COUNT
    ]
    return {
        "frequent": items[:25],
        "unanswered": [row for row in items if not row.answered][:25],
        "feedback": sorted(
            (row for row in items if row.helpful or row.not_helpful),
            key=lambda row: (-row.not_helpful, -row.helpful, row.words),
        )[:25],
    }


def slots_for(
    *, municipality: Municipality, location: Location | None, service: Service, days: int = 14
) -> list[Any]:
    """Free appointment slots of the Bürgerbüro for ``service`` (at ``location`` if given)."""
    from rathaus.buergerbuero.selectors import free_slots

    return free_slots(
        location=location,
        services=[service],
        municipality=municipality,
        days=max(1, min(days, 60)),
    )


STEP_FREE_WORDS = frozenset(
    fold(
        "rollstuhl rollstuhlfahrer rolli rollator kinderwagen buggy gehbehindert gehhilfe "
        "krucken barrierefrei stufenlos wheelchair pram stroller buggy walker crutches "
        "step free stepfree accessible mobility"
    ).split()
)


def needs_step_free(question: str) -> bool:
    """Whether the question mentions a wheelchair, a pram or walking difficulties."""
    return any(word in STEP_FREE_WORDS for word in fold(question[:MAX_QUESTION_CHARS]).split())


def route_for(
    *,
    location: Location,
    target: str,
    start: str = "",
    barrier_free: bool = False,
    language: str = "de",
    robot: Device | None = None,
) -> tuple[Graph, Any]:
    """The route in the location's building from ``start`` (a place; default the robot's
    or kiosk's place, else an entrance) to ``target`` (a place key or room number).

    Raises ``NotFound`` (no building, unknown place) or ``wayfinding.NoRoute``."""
    from rathaus.assistant.wayfinding import NoRoute, place_find, route_find
    from rathaus.core.errors import NotFound

    building = building_for_location(location=location)
    if building is None:
        raise NotFound(_("There is no building plan for this location."), code="no_building")
    graph = graph_load(building, language=language)
    goal = place_find(graph, target)
    if start:
        origins = [place_find(graph, start)]
    elif robot is not None and robot.position_id in graph.places:
        origins = [graph.places[robot.position_id]]
    else:
        kiosk = graph.by_key("kiosk")
        entrances = sorted(
            (p for p in graph.places.values() if p.kind == Node.Kind.ENTRANCE),
            key=lambda p: (abs(p.level), p.key),
        )
        origins = [kiosk] if kiosk else entrances
    if not origins:
        raise NotFound(_("The building plan has no entrance."), code="no_entrance")
    robot_caps = {}
    if robot is not None and robot.kind == Device.Kind.ROBOT:
        robot_caps = {
            "robot_can_use_stairs": robot.can_use_stairs,
            "robot_can_use_lifts": robot.can_use_lifts,
        }
    best = None
    failure: NoRoute | None = None
    for origin in origins:
        try:
            route = route_find(
                graph,
                start=origin,
                target=goal,
                barrier_free=barrier_free,
                language=language,
                **robot_caps,
            )
        except NoRoute as error:
            failure = failure or error
            if error.code == "no_barrier_free_route":
                failure = error
            continue
        if best is None or route.distance < best.distance:
            best = route
    if best is None:
        assert failure is not None
        raise failure
    return graph, best
