"""Reads of Frag den OB: the public list, top questions, the codex figures and statistics."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from rathaus.core.models import Municipality
from rathaus.fragdenob.models import (
    CodexRule,
    District,
    ElectionFreeze,
    ModerationDecision,
    Question,
    Topic,
)

BERLIN = ZoneInfo("Europe/Berlin")
SEARCH_MAX_CHARS = 200


def index_version_key(municipality_id: int) -> str:
    """Cache key of the suggestion index's version (bumped when a question is published)."""
    return f"fragdenob:index-version:{municipality_id}"


def freeze_current(
    *, municipality: Municipality, now: datetime | None = None
) -> ElectionFreeze | None:
    """The election freeze in force today (Europe/Berlin), if any."""
    today = (now or timezone.now()).astimezone(BERLIN).date()
    return (
        ElectionFreeze.objects.filter(
            municipality=municipality, starts_on__lte=today, ends_on__gte=today
        )
        .order_by("ends_on")
        .last()
    )


def questions_public(
    *,
    municipality: Municipality,
    query: str = "",
    topic: str = "",
    district: str = "",
    status: str = "",
    order: str = "new",
) -> QuerySet[Question]:
    """Published and answered questions with their supporter counts, filtered."""
    questions = (
        Question.objects.filter(municipality=municipality, status__in=Question.PUBLIC)
        .select_related("topic", "district")
        .annotate(supporters=Count("supports", distinct=True))
    )
    query = query.strip()[:SEARCH_MAX_CHARS]
    for word in query.split()[:10]:
        questions = questions.filter(
            Q(title__icontains=word) | Q(background__icontains=word) | Q(answer__icontains=word)
        )
    if topic:
        questions = questions.filter(topic__slug=topic)
    if district:
        questions = questions.filter(district__slug=district)
    if status in Question.PUBLIC:
        questions = questions.filter(status=status)
    if order == "top":
        return questions.order_by("-supporters", "-published_at", "-pk")
    return questions.order_by("-published_at", "-pk")


def questions_top(
    *, municipality: Municipality, days: int = 30, limit: int = 5, now: datetime | None = None
) -> list[Question]:
    """The most supported questions published in the last ``days`` days, not yet answered."""
    since = (now or timezone.now()) - timedelta(days=days)
    return list(
        Question.objects.filter(
            municipality=municipality,
            status=Question.Status.PUBLISHED,
            published_at__gte=since,
        )
        .select_related("topic")
        .annotate(supporters=Count("supports"))
        .filter(supporters__gt=0)
        .order_by("-supporters", "published_at")[:limit]
    )


def question_public(*, municipality: Municipality, question_id: int) -> Question | None:
    return (
        Question.objects.filter(
            municipality=municipality, pk=question_id, status__in=Question.PUBLIC
        )
        .select_related("topic", "district", "parent")
        .annotate(supporters=Count("supports"))
        .first()
    )


def questions_of_author(*, user: object) -> QuerySet[Question]:
    return (
        Question.objects.filter(author=user)  # type: ignore[misc]
        .select_related("topic", "merged_into")
        .order_by("-submitted_at", "-pk")
    )


def moderation_queue(*, municipality: Municipality) -> QuerySet[Question]:
    """Questions waiting for moderation, oldest first."""
    return (
        Question.objects.filter(municipality=municipality, status=Question.Status.PENDING)
        .select_related("topic", "district", "parent")
        .order_by("submitted_at", "pk")
    )


def latest_decision(question: Question) -> ModerationDecision | None:
    return question.decisions.select_related("rule").order_by("-created_at", "-pk").first()


def topics_active(*, municipality: Municipality) -> QuerySet[Topic]:
    return Topic.objects.filter(municipality=municipality, is_active=True)


def districts(*, municipality: Municipality) -> QuerySet[District]:
    return District.objects.filter(municipality=municipality)


def codex_rules(*, municipality: Municipality) -> QuerySet[CodexRule]:
    return CodexRule.objects.filter(municipality=municipality, is_active=True)


@dataclass(frozen=True)
class CodexFigures:
    published: int
    rejected: int
    merged: int
    by_rule: list[tuple[CodexRule, int]]


def codex_figures(*, municipality: Municipality) -> CodexFigures:
    """Public moderation figures: questions published, rejections (by codex rule) and merges.

    Rejections count decisions (a question rejected twice counts twice), which stay when
    an unpublished question is deleted after its retention period."""
    counts = dict(
        Question.objects.filter(municipality=municipality)
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    decisions = dict(
        ModerationDecision.objects.filter(municipality=municipality)
        .values_list("action")
        .annotate(n=Count("pk"))
        .values_list("action", "n")
    )
    rejections = dict(
        ModerationDecision.objects.filter(
            municipality=municipality,
            action=ModerationDecision.Action.REJECT,
            rule__isnull=False,
        )
        .values_list("rule")
        .annotate(n=Count("pk"))
        .values_list("rule", "n")
    )
    rules = list(CodexRule.objects.filter(municipality=municipality))
    return CodexFigures(
        published=counts.get(Question.Status.PUBLISHED, 0)
        + counts.get(Question.Status.ANSWERED, 0),
        rejected=decisions.get(ModerationDecision.Action.REJECT, 0),
        merged=decisions.get(ModerationDecision.Action.MERGE, 0),
        by_rule=[(rule, rejections.get(rule.pk, 0)) for rule in rules],
    )


def percentile(values: list[float], fraction: float) -> float | None:
    """The ``fraction`` percentile by linear interpolation (0.5 is the median)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass
class TopicRow:
    topic: Topic
    published: int = 0
    due: int = 0
    answered: int = 0

    @property
    def rate(self) -> float | None:
        return self.answered / self.due if self.due else None


@dataclass
class MonthRow:
    month: date
    published: int = 0
    answered: int = 0


@dataclass
class Statistics:
    published: int = 0
    due: int = 0
    answered: int = 0
    standard_replies: int = 0
    answer_rate: float | None = None
    median_days: float | None = None
    p90_days: float | None = None
    open_by_age: list[tuple[str, int]] = field(default_factory=list)
    by_topic: list[TopicRow] = field(default_factory=list)
    by_month: list[MonthRow] = field(default_factory=list)


AGE_BUCKETS = ((7, "0-7"), (30, "8-30"), (90, "31-90"), (None, "90+"))


def _month(moment: datetime) -> date:
    return moment.astimezone(BERLIN).date().replace(day=1)


def statistics(
    *, municipality: Municipality, now: datetime | None = None, months: int = 12
) -> Statistics:
    """The public figures: answer rate (answered ÷ published and due; standard replies are
    no answers), time to answer, open questions by age, per topic and per month.

    A question is due once its support phase has ended, or when it was answered earlier.
    """
    now = now or timezone.now()
    this_month = _month(now)
    first_month = this_month
    for _step in range(months - 1):
        first_month = (first_month - timedelta(days=1)).replace(day=1)
    topics = {t.pk: TopicRow(topic=t) for t in Topic.objects.filter(municipality=municipality)}
    by_month: dict[date, MonthRow] = {}
    month = first_month
    while month <= this_month:
        by_month[month] = MonthRow(month=month)
        month = (month + timedelta(days=32)).replace(day=1)
    result = Statistics()
    durations: list[float] = []
    buckets = [0 for _bucket in AGE_BUCKETS]
    rows = Question.objects.filter(
        municipality=municipality, status__in=Question.PUBLIC, published_at__isnull=False
    ).values_list("topic_id", "published_at", "support_until", "answered_at", "answer_is_standard")
    for topic_id, published_at, support_until, answered_at, standard in rows.iterator(
        chunk_size=2000
    ):
        if published_at is None:  # excluded by the query; for the type checker
            continue
        result.published += 1
        per_topic = topics[topic_id]
        per_topic.published += 1
        if published_at >= datetime.combine(first_month, datetime.min.time(), BERLIN):
            by_month[_month(published_at)].published += 1
        if answered_at is None:
            age = (now - published_at).days
            for index, (limit, _label) in enumerate(AGE_BUCKETS):
                if limit is None or age <= limit:
                    buckets[index] += 1
                    break
        elif standard:
            result.standard_replies += 1
        answered = answered_at is not None and not standard
        if answered or (support_until is not None and support_until <= now):
            result.due += 1
            per_topic.due += 1
        if answered and answered_at is not None:
            result.answered += 1
            per_topic.answered += 1
            durations.append((answered_at - published_at).total_seconds() / 86400)
            answered_month = _month(answered_at)
            if answered_month in by_month:
                by_month[answered_month].answered += 1
    result.answer_rate = result.answered / result.due if result.due else None
    result.median_days = percentile(durations, 0.5)
    result.p90_days = percentile(durations, 0.9)
    result.open_by_age = [
        (label, count) for (_limit, label), count in zip(AGE_BUCKETS, buckets, strict=True)
    ]
    result.by_topic = sorted(
        (row for row in topics.values() if row.published),
        key=lambda row: (row.topic.position, row.topic.name_de),
    )
    result.by_month = list(by_month.values())
    return result


def answers_recent(*, municipality: Municipality, limit: int = 50) -> QuerySet[Question]:
    """The newest answers, for the Atom feed."""
    return (
        Question.objects.filter(municipality=municipality, status=Question.Status.ANSWERED)
        .select_related("topic")
        .order_by("-answered_at", "-pk")[:limit]
    )
