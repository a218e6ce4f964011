"""Personal data (export, erasure, retention) and the demo data."""

from datetime import timedelta

import pytest
from django.utils import timezone

from rathaus.accounts.models import User
from rathaus.core.models import Municipality
from rathaus.fragdenob.demo import fragdenob_demo_load
from rathaus.fragdenob.models import CodexRule, Follow, ModerationDecision, Question, Support, Topic
from rathaus.fragdenob.personal_data import QuestionsData
from rathaus.organisation.models import Role
from rathaus.organisation.services import organisation_defaults_ensure
from rathaus.privacy.retention import retention_apply
from tests.fragdenob.conftest import make_citizen
from tests.fragdenob.factories import (
    FollowFactory,
    ModerationDecisionFactory,
    QuestionFactory,
    SupportFactory,
)

pytestmark = pytest.mark.django_db


def test_export_and_erasure_keep_published_questions_without_author(citizen: User) -> None:
    municipality = citizen.municipality
    published = QuestionFactory(municipality=municipality, author=citizen, published=True)
    draft = QuestionFactory(municipality=municipality, author=citizen, status="rejected")
    SupportFactory(
        question=QuestionFactory(municipality=municipality, published=True), user=citizen
    )
    FollowFactory(question=published, user=citizen)
    exported = QuestionsData().export(citizen)
    assert {item.get("question") for item in exported if "question" in item} == {
        published.title,
        draft.title,
    }
    assert any("supported" in item for item in exported)
    erasure = QuestionsData().erase(citizen)
    assert not Question.objects.filter(pk=draft.pk).exists()
    published.refresh_from_db()
    assert published.author is None
    assert not Support.objects.filter(user=citizen).exists()
    assert not Follow.objects.filter(user=citizen).exists()
    assert (erasure.anonymised, len(erasure.kept)) == (1, 1)


def test_unpublished_questions_are_deleted_after_a_year(citizen: User) -> None:
    municipality = citizen.municipality
    old_rejected = QuestionFactory(municipality=municipality, status="rejected")
    ModerationDecisionFactory(question=old_rejected, action="reject")
    fresh_rejected = QuestionFactory(municipality=municipality, status="rejected")
    old_published = QuestionFactory(municipality=municipality, published=True)
    Question.objects.filter(pk__in=[old_rejected.pk, old_published.pk]).update(
        updated_at=timezone.now() - timedelta(days=400)
    )
    retention_apply(now=timezone.now())
    remaining = set(Question.objects.values_list("pk", flat=True))
    assert remaining == {fresh_rejected.pk, old_published.pk}
    assert ModerationDecision.objects.get().question is None  # the count stays


def test_demo_loads_idempotently(municipality: Municipality) -> None:
    organisation_defaults_ensure(municipality=municipality)
    make_citizen(municipality, email="buerger@musterstadt.example")
    fragdenob_demo_load(municipality=municipality)
    fragdenob_demo_load(municipality=municipality)
    assert Topic.objects.filter(municipality=municipality).count() == 6
    assert CodexRule.objects.filter(municipality=municipality).count() == 8
    assert set(Role.objects.filter(municipality=municipality).values_list("key", flat=True)) >= {
        "moderation",
        "buero-ob",
        "buergermeister",
    }
    assert list(
        Question.objects.filter(municipality=municipality)
        .order_by("status")
        .values_list("status", flat=True)
    ) == ["answered", "published", "published", "published"]
