"""Asking, moderating, supporting and following: the rules of the services."""

from datetime import timedelta

import pytest
from django.utils import timezone

from rathaus.accounts.models import User
from rathaus.audit.models import AuditEvent
from rathaus.core.errors import (
    ApplicationError,
    Conflict,
    NotFound,
    PermissionDenied,
    RateLimited,
    ValidationFailed,
)
from rathaus.core.models import Municipality
from rathaus.fragdenob import services
from rathaus.fragdenob.models import (
    CodexRule,
    Follow,
    ModerationDecision,
    Question,
    Support,
    Topic,
)
from rathaus.notifications.models import Notification
from rathaus.workflow.models import ProcessInstance
from tests.fragdenob.conftest import Dialogue, make_citizen
from tests.fragdenob.factories import (
    CodexRuleFactory,
    ElectionFreezeFactory,
    QuestionFactory,
    TopicFactory,
)

pytestmark = pytest.mark.django_db


def ask(citizen: User, default_topic: Topic, **kwargs: object) -> Question:
    values: dict[str, object] = {
        "municipality": citizen.municipality,
        "author": citizen,
        "title": "Wann kommt der Radweg in der Bahnhofstraße?",
        "background": "",
        "topic": default_topic.pk,
    }
    values.update(kwargs)
    return services.question_submit(**values)  # type: ignore[arg-type]


def rule(municipality: Municipality, key: str = "insult") -> CodexRule:
    return CodexRule.objects.get(municipality=municipality, key=key)


# --- asking --------------------------------------------------------------------------------


def test_a_question_waits_for_moderation_and_its_author_follows_it(
    citizen: User, topic: Topic
) -> None:
    question = ask(citizen, topic, background="  Seit 2024 geplant.\r\n ")
    assert question.status == Question.Status.PENDING
    assert question.background == "Seit 2024 geplant."
    assert list(Follow.objects.values_list("question_id", "user_id")) == [(question.pk, citizen.pk)]
    assert AuditEvent.objects.filter(action="fragdenob.question.submitted").count() == 1


@pytest.mark.parametrize(
    ("title", "background", "field"),
    [
        ("", "", "title"),
        ("   \x00 ", "", "title"),
        ("x" * 201, "", "title"),
        ("Eine Frage?", "y" * 1001, "background"),
        (None, "", "title"),
        (["Liste"], "", "title"),
    ],
)
def test_empty_and_overlong_texts_are_refused_and_nothing_is_stored(
    citizen: User, topic: Topic, title: object, background: object, field: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        ask(citizen, topic, title=title, background=background)
    assert field in refused.value.fields
    assert not Question.objects.exists()


def test_the_limits_are_the_municipality_s_settings(citizen: User, topic: Topic) -> None:
    municipality = citizen.municipality
    municipality.settings = {"fragdenob.question_max_chars": 60}
    municipality.save()
    with pytest.raises(ValidationFailed) as refused:
        ask(citizen, topic, title="x" * 61)
    assert "60" in refused.value.fields["title"][0]
    assert ask(citizen, topic, title="x" * 60).title == "x" * 60


def test_html_is_kept_as_plain_text(citizen: User, topic: Topic) -> None:
    question = ask(citizen, topic, title="<script>alert(1)</script> Warum?")
    assert question.title == "<script>alert(1)</script> Warum?"


def test_another_tenant_s_topic_or_district_is_refused(
    citizen: User, topic: Topic, other_municipality: Municipality
) -> None:
    foreign = TopicFactory(municipality=other_municipality)
    with pytest.raises(ValidationFailed) as refused:
        ask(citizen, topic, topic=foreign.pk, district=10**9)
    assert set(refused.value.fields) == {"topic", "district"}
    assert not Question.objects.exists()


def test_an_unverified_e_mail_address_may_not_ask(municipality: Municipality, topic: Topic) -> None:
    unverified = make_citizen(municipality, email_verified_at=None)
    with pytest.raises(PermissionDenied) as refused:
        ask(unverified, topic)
    assert refused.value.code == "email_unverified"


def test_a_municipality_may_require_a_higher_trust_level(citizen: User, topic: Topic) -> None:
    citizen.municipality.settings = {"fragdenob.min_trust_level": 3}
    citizen.municipality.save()
    with pytest.raises(PermissionDenied) as refused:
        ask(citizen, topic, trust_level=2)
    assert refused.value.code == "trust_level"
    assert ask(citizen, topic, trust_level=3).pk


def test_an_account_of_another_municipality_may_not_ask(
    other_municipality: Municipality, topic: Topic
) -> None:
    stranger = make_citizen(other_municipality)
    with pytest.raises(PermissionDenied):
        services.question_submit(
            municipality=topic.municipality, author=stranger, title="Frage?", topic=topic.pk
        )


def test_the_election_freeze_blocks_new_questions_and_says_why(citizen: User, topic: Topic) -> None:
    ElectionFreezeFactory(municipality=citizen.municipality, reason="OB-Wahl am 15. März")
    with pytest.raises(ApplicationError) as refused:
        ask(citizen, topic)
    assert refused.value.code == "election_freeze"
    assert "OB-Wahl am 15. März" in str(refused.value.message)
    assert not Question.objects.exists()


def test_a_past_freeze_does_not_block(citizen: User, topic: Topic) -> None:
    today = timezone.localdate()
    ElectionFreezeFactory(
        municipality=citizen.municipality,
        starts_on=today - timedelta(days=30),
        ends_on=today - timedelta(days=1),
    )
    assert ask(citizen, topic).pk


def test_a_burst_from_one_account_is_refused(citizen: User, topic: Topic) -> None:
    for number in range(3):
        ask(citizen, topic, title=f"Frage {number}?")
    with pytest.raises(RateLimited):
        ask(citizen, topic, title="Frage 4?")
    assert Question.objects.count() == 3
    # A day later the account may ask again
    assert ask(
        citizen, topic, title="Neue Frage?", now=timezone.now() + timedelta(days=1, minutes=1)
    )


def test_a_burst_from_one_address_is_refused(municipality: Municipality, topic: Topic) -> None:
    municipality.settings = {"fragdenob.questions_per_ip_hour": 2}
    municipality.save()
    for number in range(2):
        ask(make_citizen(municipality), topic, ip="203.0.113.7", title=f"Frage {number}?")
    with pytest.raises(RateLimited):
        ask(make_citizen(municipality), topic, ip="203.0.113.7")
    assert ask(make_citizen(municipality), topic, ip="203.0.113.8").pk
    assert Question.objects.count() == 3


# --- moderation ----------------------------------------------------------------------------


def test_publishing_starts_the_support_phase_and_the_answering_process(
    dialogue: Dialogue, citizen: User, topic: Topic
) -> None:
    question = ask(citizen, topic)
    published = services.question_publish(question=question, moderator=dialogue.moderator)
    assert published.status == Question.Status.PUBLISHED
    assert published.support_until is not None
    assert published.published_at is not None
    assert (published.support_until - published.published_at).days == 14
    instance = ProcessInstance.objects.get(pk=published.workflow_instance_id)
    assert instance.version.definition.key == "mayor_question"
    assert instance.business_object_id == str(question.pk)
    decision = ModerationDecision.objects.get()
    assert (decision.action, decision.moderator) == ("publish", dialogue.moderator)
    mail = Notification.objects.get(recipient=citizen, channel="email")
    assert mail.event == "fragdenob.moderated"
    assert mail.subject == "Ihre Frage an den OB wurde veröffentlicht"


def test_rejecting_needs_a_rule_of_the_codex_of_this_municipality(
    dialogue: Dialogue, citizen: User, topic: Topic, other_municipality: Municipality
) -> None:
    question = ask(citizen, topic)
    foreign = CodexRuleFactory(municipality=other_municipality)
    for bad in (None, foreign.pk, "insult", 10**9):
        with pytest.raises(ValidationFailed) as refused:
            services.question_reject(question=question, moderator=dialogue.moderator, rule=bad)
        assert "rule" in refused.value.fields
    question.refresh_from_db()
    assert question.status == Question.Status.PENDING
    assert not ModerationDecision.objects.exists()


def test_a_rejected_question_is_rephrased_and_published(
    dialogue: Dialogue, citizen: User, topic: Topic
) -> None:
    question = ask(citizen, topic, title="Warum ist der Bürgermeister so ein Idiot?")
    services.question_reject(
        question=question,
        moderator=dialogue.moderator,
        rule=rule(citizen.municipality).pk,
        note="Bitte sachlich fragen.",
    )
    question.refresh_from_db()
    assert question.status == Question.Status.REJECTED
    mail = Notification.objects.filter(recipient=citizen, channel="email").get()
    assert "Bitte sachlich fragen." in mail.body
    assert "Regel des Kodex: Beleidigung" in mail.body
    # The author rephrases: back to moderation
    services.question_update(
        question=question, author=citizen, title="Warum dauert der Umbau so lange?", topic=topic.pk
    )
    question.refresh_from_db()
    assert (question.status, question.title) == ("pending", "Warum dauert der Umbau so lange?")
    services.question_publish(question=question, moderator=dialogue.moderator)
    assert list(ModerationDecision.objects.order_by("pk").values_list("action", "rule__key")) == [
        ("reject", "insult"),
        ("publish", None),
    ]


def test_a_rephrase_request_needs_a_note(dialogue: Dialogue, citizen: User, topic: Topic) -> None:
    question = ask(citizen, topic)
    with pytest.raises(ValidationFailed):
        services.question_rephrase_request(
            question=question, moderator=dialogue.moderator, note="  "
        )
    services.question_rephrase_request(
        question=question, moderator=dialogue.moderator, note="Nur ein Thema bitte."
    )
    question.refresh_from_db()
    assert question.status == Question.Status.REPHRASE


def test_a_published_question_cannot_be_edited_or_moderated_again(
    dialogue: Dialogue, citizen: User, topic: Topic
) -> None:
    question = ask(citizen, topic)
    services.question_publish(question=question, moderator=dialogue.moderator)
    with pytest.raises(Conflict):
        services.question_update(question=question, author=citizen, title="Neu?", topic=topic.pk)
    with pytest.raises(Conflict):
        services.question_reject(
            question=question, moderator=dialogue.moderator, rule=rule(citizen.municipality).pk
        )
    question.refresh_from_db()
    assert question.title == "Wann kommt der Radweg in der Bahnhofstraße?"


def test_someone_else_cannot_edit_a_question(
    citizen: User, other_citizen: User, topic: Topic
) -> None:
    question = ask(citizen, topic)
    with pytest.raises(NotFound):
        services.question_update(
            question=question, author=other_citizen, title="Meins", topic=topic.pk
        )


def test_only_moderators_moderate(dialogue: Dialogue, citizen: User, topic: Topic) -> None:
    question = ask(citizen, topic)
    for somebody in (dialogue.outsider, dialogue.clerk, citizen):
        with pytest.raises(PermissionDenied):
            services.question_publish(question=question, moderator=somebody)
    question.refresh_from_db()
    assert question.status == Question.Status.PENDING


def test_merging_into_a_published_question(
    dialogue: Dialogue, citizen: User, other_citizen: User, topic: Topic
) -> None:
    original = ask(other_citizen, topic)
    services.question_publish(question=original, moderator=dialogue.moderator)
    duplicate = ask(citizen, topic, title="Radweg Bahnhofstraße wann?")
    pending = ask(make_citizen(citizen.municipality), topic)
    with pytest.raises(ValidationFailed):
        services.question_merge(question=duplicate, into=pending, moderator=dialogue.moderator)
    services.question_merge(question=duplicate, into=original, moderator=dialogue.moderator)
    duplicate.refresh_from_db()
    assert (duplicate.status, duplicate.merged_into_id) == ("merged", original.pk)
    assert Follow.objects.filter(question=original, user=citizen).exists()


# --- supporting ----------------------------------------------------------------------------


def test_one_support_per_account_withdrawable(citizen: User, other_citizen: User) -> None:
    question = QuestionFactory(municipality=citizen.municipality, published=True)
    services.support_add(question=question, user=citizen)
    with pytest.raises(Conflict) as twice:
        services.support_add(question=question, user=citizen)
    assert twice.value.code == "already_supported"
    assert Support.objects.count() == 1
    services.support_withdraw(question=question, user=citizen)
    assert not Support.objects.exists()
    with pytest.raises(Conflict):
        services.support_withdraw(question=question, user=citizen)


@pytest.mark.parametrize("status", ["pending", "rejected", "rephrase", "merged"])
def test_unpublished_questions_cannot_be_supported(citizen: User, status: str) -> None:
    question = QuestionFactory(municipality=citizen.municipality, status=status)
    with pytest.raises(Conflict):
        services.support_add(question=question, user=citizen)
    assert not Support.objects.exists()


def test_support_only_during_the_support_phase_and_not_for_one_s_own(citizen: User) -> None:
    question = QuestionFactory(municipality=citizen.municipality, published=True)
    with pytest.raises(Conflict) as late:
        services.support_add(
            question=question, user=citizen, now=timezone.now() + timedelta(days=15)
        )
    assert late.value.code == "support_ended"
    with pytest.raises(Conflict) as own:
        services.support_add(question=question, user=question.author)
    assert own.value.code == "own_question"


def test_an_account_of_another_municipality_cannot_support(
    citizen: User, other_municipality: Municipality
) -> None:
    question = QuestionFactory(municipality=citizen.municipality, published=True)
    with pytest.raises(PermissionDenied):
        services.support_add(question=question, user=make_citizen(other_municipality))


# --- follow-ups and following --------------------------------------------------------------


def test_one_moderated_follow_up_per_question_by_its_asker(
    dialogue: Dialogue, citizen: User, other_citizen: User, topic: Topic
) -> None:
    question = ask(citizen, topic)
    with pytest.raises(Conflict):
        ask(citizen, topic, parent=question, title="Und dann?")
    services.question_publish(question=question, moderator=dialogue.moderator)
    with pytest.raises(NotFound):
        ask(other_citizen, topic, parent=question, title="Und ich?")
    follow_up = ask(citizen, topic, parent=question, title="Und wer bezahlt das?")
    assert (follow_up.status, follow_up.topic_id) == ("pending", topic.pk)
    with pytest.raises(Conflict) as second:
        ask(citizen, topic, parent=question, title="Noch eine?")
    assert second.value.code == "follow_up_exists"
    # Publishing the follow-up tells the question's followers
    follower = make_citizen(citizen.municipality)
    services.follow_add(question=question, user=follower)
    services.question_publish(question=follow_up, moderator=dialogue.moderator)
    told = Notification.objects.get(recipient=follower, channel="email")
    assert told.event == "fragdenob.follow_up"
    assert "Und wer bezahlt das?" in told.body


def test_unfollowing_with_the_signed_token(citizen: User, other_municipality: Municipality) -> None:
    question = QuestionFactory(municipality=citizen.municipality, published=True)
    follow = services.follow_add(question=question, user=citizen)
    token = services.unfollow_token(follow)
    with pytest.raises(NotFound):
        services.unfollow_by_token(municipality=other_municipality, token=token)
    with pytest.raises(NotFound):
        services.unfollow_by_token(municipality=citizen.municipality, token=token + "x")
    assert services.unfollow_by_token(municipality=citizen.municipality, token=token) == question
    assert not Follow.objects.exists()
    # The link works once; a second click just finds nothing to do
    assert services.unfollow_by_token(municipality=citizen.municipality, token=token) is None


def test_freezes_are_managed_by_the_mayor_s_office(dialogue: Dialogue) -> None:
    today = timezone.localdate()
    with pytest.raises(PermissionDenied):
        services.freeze_create(
            municipality=dialogue.municipality,
            user=dialogue.moderator,
            starts_on=today,
            ends_on=today,
            reason="Wahl",
        )
    with pytest.raises(ValidationFailed) as refused:
        services.freeze_create(
            municipality=dialogue.municipality,
            user=dialogue.office,
            starts_on=today,
            ends_on=today - timedelta(days=1),
            reason="",
        )
    assert set(refused.value.fields) == {"ends_on", "reason"}
    freeze = services.freeze_create(
        municipality=dialogue.municipality,
        user=dialogue.office,
        starts_on=today,
        ends_on=today,
        reason="Wahl",
    )
    services.freeze_delete(freeze=freeze, user=dialogue.mayor)
    assert AuditEvent.objects.filter(action__startswith="fragdenob.freeze").count() == 2
