"""Answering through the question-to-the-mayor process, and the public figures."""

from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from rathaus.accounts.models import User
from rathaus.core.errors import Conflict, PermissionDenied
from rathaus.fragdenob import selectors, services
from rathaus.fragdenob.models import ModerationDecision, Question, Topic
from rathaus.notifications.models import Notification
from rathaus.notifications.services import notification_preference_update
from rathaus.workflow import services as workflow
from rathaus.workflow.models import ProcessInstance, ServiceJob, UserTask
from tests.conftest import SmtpSink
from tests.fragdenob.conftest import Dialogue, make_citizen
from tests.fragdenob.factories import CodexRuleFactory, QuestionFactory, TopicFactory


def open_task(question: Question, element: str) -> UserTask:
    return UserTask.objects.get(
        instance_id=question.workflow_instance_id, element_id=element, status="open"
    )


def run_jobs() -> list[str]:
    now = timezone.now()
    return [
        workflow.service_job_run(job_id=job_id, now=now)
        for job_id in ServiceJob.objects.filter(
            status="pending", next_attempt_at__lte=now
        ).values_list("pk", flat=True)
    ]


@pytest.mark.django_db(transaction=True)
def test_office_routes_the_department_drafts_the_mayor_approves_and_followers_hear(
    dialogue: Dialogue,
    citizen: User,
    topic: Topic,
    smtp_server: SmtpSink,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # Given a published question with a supporter
    question = services.question_submit(
        municipality=citizen.municipality,
        author=citizen,
        title="Wann wird die Bahnhofstraße saniert?",
        topic=topic.pk,
    )
    question = services.question_publish(question=question, moderator=dialogue.moderator)
    supporter = make_citizen(citizen.municipality, email="fan@example.org", language="en")
    services.support_add(question=question, user=supporter)
    # The mayor's office assigns it to FB 3; a clerk elsewhere may not
    assign = open_task(question, "assign_department")
    with pytest.raises(PermissionDenied):
        workflow.user_task_complete(task=assign, user=dialogue.clerk, data={"department": "FB 3"})
    workflow.user_task_complete(task=assign, user=dialogue.office, data={"department": "FB 3"})
    # FB 3 drafts; the mayor sends it back, then approves the second draft
    draft = open_task(question, "draft_answer")
    assert draft.candidate_org_unit == dialogue.department
    workflow.user_task_complete(task=draft, user=dialogue.clerk, data={"answer": "Bald."})
    workflow.user_task_complete(
        task=open_task(question, "approve_answer"),
        user=dialogue.mayor,
        data={"approved": False, "feedback": "Bitte mit Datum."},
    )
    workflow.user_task_complete(
        task=open_task(question, "draft_answer"),
        user=dialogue.clerk,
        data={"answer": "Die Sanierung beginnt am 4. Mai 2027 <b>und</b> dauert 8 Monate."},
    )
    with pytest.raises(PermissionDenied):
        workflow.user_task_complete(
            task=open_task(question, "approve_answer"),
            user=dialogue.office,
            data={"approved": True},
        )
    workflow.user_task_complete(
        task=open_task(question, "approve_answer"), user=dialogue.mayor, data={"approved": True}
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert run_jobs() == ["succeeded"]
    # Then the answer is published with its date, and the instance is done
    question.refresh_from_db()
    assert question.status == Question.Status.ANSWERED
    assert question.answer == "Die Sanierung beginnt am 4. Mai 2027 <b>und</b> dauert 8 Monate."
    assert question.answered_at is not None
    assert not question.answer_is_standard
    assert ProcessInstance.objects.get(pk=question.workflow_instance_id).state == "completed"
    # And the asker and the supporter (who follows) get an e-mail with an unfollow link
    call_command("db_worker", batch=True, interval=0, verbosity=0)
    answered = [
        m for m in smtp_server.messages if "8 Monate" in m.get_payload(decode=True).decode()
    ]
    assert sorted(m["To"] for m in answered) == ["erika@example.org", "fan@example.org"]
    body = answered[0].get_payload(decode=True).decode()
    assert "/frag-den-ob/abbestellen/" in body
    assert f"/frag-den-ob/{question.pk}/" in body


@pytest.mark.django_db
def test_answers_wait_for_the_digest_of_those_who_chose_one(
    dialogue: Dialogue, citizen: User
) -> None:
    question = QuestionFactory(municipality=citizen.municipality, published=True, author=citizen)
    services.follow_add(question=question, user=citizen)
    notification_preference_update(
        user=citizen, email_enabled=True, sms_enabled=False, digest_frequency="weekly"
    )
    services.answer_publish(question=question, answer="Ja.")
    services._answer_notify(question.pk)
    mail = Notification.objects.get(recipient=citizen, channel="email")
    assert (mail.event, mail.status) == ("fragdenob.answered", "digest")


@pytest.mark.django_db
def test_answer_publish_is_idempotent_and_refuses_unpublished(citizen: User) -> None:
    question = QuestionFactory(municipality=citizen.municipality, published=True)
    first = services.answer_publish(question=question, answer="Ja.")
    again = services.answer_publish(question=question, answer="Ja.")
    assert first.answered_at == again.answered_at
    pending = QuestionFactory(municipality=citizen.municipality)
    with pytest.raises(Conflict):
        services.answer_publish(question=pending, answer="Ja.")


@pytest.mark.django_db
def test_standard_replies_are_marked_by_the_office_and_not_counted(
    dialogue: Dialogue, citizen: User
) -> None:
    question = QuestionFactory(municipality=citizen.municipality, published=True)
    services.answer_publish(question=question, answer="Siehe Gemeinderatsvorlage 12/2026.")
    with pytest.raises(PermissionDenied):
        services.answer_standard_mark(question=question, user=dialogue.moderator, standard=True)
    services.answer_standard_mark(question=question, user=dialogue.office, standard=True)
    figures = selectors.statistics(municipality=citizen.municipality)
    assert (figures.answered, figures.standard_replies, figures.due) == (0, 1, 0)


@pytest.mark.django_db
def test_statistics_answer_rate_time_to_answer_and_open_questions(citizen: User) -> None:
    municipality = citizen.municipality
    now = timezone.now()
    traffic = TopicFactory(municipality=municipality, name_de="Verkehr", position=1)
    schools = TopicFactory(municipality=municipality, name_de="Schule", position=2)

    def published(days_ago: float, *, answered_after: float | None = None, **kw: Any) -> None:
        at = now - timedelta(days=days_ago)
        QuestionFactory(
            municipality=municipality,
            status="answered" if answered_after is not None else "published",
            published_at=at,
            support_until=at + timedelta(days=14),
            answered_at=at + timedelta(days=answered_after) if answered_after is not None else None,
            **kw,
        )

    # Answered after 2, 4, 10 and 20 days; one standard reply; two due and open; two new
    published(60, answered_after=2, topic=traffic)
    published(60, answered_after=4, topic=traffic)
    published(50, answered_after=10, topic=schools)
    published(40, answered_after=20, topic=schools)
    published(40, answered_after=1, topic=schools, answer_is_standard=True)
    published(100, topic=traffic)
    published(20, topic=traffic)
    published(3, topic=schools)
    published(9, topic=schools)
    QuestionFactory(municipality=municipality, topic=traffic)  # pending: not public
    figures = selectors.statistics(municipality=municipality, now=now)
    assert (figures.published, figures.due, figures.answered) == (9, 7, 4)
    assert figures.answer_rate == pytest.approx(4 / 7)
    assert figures.median_days == pytest.approx(7.0)
    assert figures.p90_days == pytest.approx(17.0)  # 10 + 0.7 * (20 - 10)
    assert figures.standard_replies == 1
    assert figures.open_by_age == [("0-7", 1), ("8-30", 2), ("31-90", 0), ("90+", 1)]
    assert [
        (row.topic.name_de, row.published, row.due, row.answered) for row in figures.by_topic
    ] == [
        ("Verkehr", 4, 4, 2),
        ("Schule", 5, 3, 2),
    ]
    assert len(figures.by_month) == 12
    assert sum(row.published for row in figures.by_month) == 9
    assert sum(row.answered for row in figures.by_month) == 4


@pytest.mark.django_db
def test_no_figures_without_questions(citizen: User) -> None:
    figures = selectors.statistics(municipality=citizen.municipality)
    assert (figures.answer_rate, figures.median_days, figures.p90_days) == (None, None, None)


@pytest.mark.django_db
def test_codex_figures_count_rejections_by_rule(dialogue: Dialogue, citizen: User) -> None:
    municipality = citizen.municipality
    insult = CodexRuleFactory(municipality=municipality, key="x-insult")
    for _n in range(2):
        question = QuestionFactory(municipality=municipality)
        services.question_reject(question=question, moderator=dialogue.moderator, rule=insult.pk)
    QuestionFactory(municipality=municipality, published=True)
    figures = selectors.codex_figures(municipality=municipality)
    assert (figures.published, figures.rejected, figures.merged) == (1, 2, 0)
    assert {rule.key: count for rule, count in figures.by_rule}["x-insult"] == 2
    # The counts stay when a rejected question is deleted after its retention period
    Question.objects.filter(status="rejected").delete()
    assert selectors.codex_figures(municipality=municipality).rejected == 2
    assert ModerationDecision.objects.filter(question__isnull=True).count() == 2
