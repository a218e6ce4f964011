"""The public and staff pages: flows without JavaScript, hostile input, tenancy, access."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from rathaus.accounts.models import User
from rathaus.core.models import Municipality
from rathaus.fragdenob import services
from rathaus.fragdenob.models import CodexRule, ElectionFreeze, Follow, Question, Support, Topic
from tests.fragdenob.conftest import Dialogue, make_citizen
from tests.fragdenob.factories import (
    ElectionFreezeFactory,
    FollowFactory,
    QuestionFactory,
    SupportFactory,
    TopicFactory,
)

pytestmark = pytest.mark.django_db

ASK = reverse("fragdenob:ask")


def signed_in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


# --- public pages --------------------------------------------------------------------------


def test_list_filters_search_and_escapes(
    client: Client, municipality: Municipality, topic: Topic, django_assert_max_num_queries: object
) -> None:
    school = TopicFactory(municipality=municipality, slug="schule")
    QuestionFactory(
        municipality=municipality,
        topic=topic,
        published=True,
        title="<script>alert('x')</script> Radweg?",
    )
    QuestionFactory(municipality=municipality, topic=school, published=True, title="Kita Nord?")
    QuestionFactory(municipality=municipality, topic=topic, title="Noch nicht moderiert?")
    for _n in range(5):
        QuestionFactory(municipality=municipality, topic=school, published=True)
    with django_assert_max_num_queries(12):  # type: ignore[operator]
        page = client.get(reverse("fragdenob:list"))
    html = page.content.decode()
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; Radweg?" in html
    assert "<script>alert" not in html
    assert "Noch nicht moderiert" not in html
    assert "Kita Nord?" in html
    filtered = client.get(reverse("fragdenob:list"), {"thema": "verkehr"}).content.decode()
    assert "Radweg?" in filtered
    assert "Kita Nord?" not in filtered
    searched = client.get(reverse("fragdenob:list"), {"q": "kita"}).content.decode()
    assert "Kita Nord?" in searched
    assert "Radweg?" not in searched
    # Hostile parameters are harmless
    odd = client.get(
        reverse("fragdenob:list"), {"q": "x" * 5000 + "\x00", "thema": "'; drop", "seite": "-1"}
    )
    assert odd.status_code == 200


def test_question_page_shows_support_and_answer(
    client: Client, municipality: Municipality, citizen: User
) -> None:
    question = QuestionFactory(municipality=municipality, published=True)
    SupportFactory(question=question)
    services.answer_publish(question=question, answer="Ja, <b>bald</b>.")
    html = client.get(reverse("fragdenob:detail", args=[question.pk])).content.decode()
    assert "1 Person unterstützt diese Frage." in html
    assert "Ja, &lt;b&gt;bald&lt;/b&gt;." in html


@pytest.mark.parametrize("status", ["pending", "rejected", "rephrase", "merged"])
def test_unpublished_questions_have_no_public_page(
    client: Client, municipality: Municipality, status: str
) -> None:
    question = QuestionFactory(municipality=municipality, status=status)
    assert client.get(reverse("fragdenob:detail", args=[question.pk])).status_code == 404


def test_another_tenant_s_question_is_not_found(
    other_client: Client, municipality: Municipality, other_municipality: Municipality
) -> None:
    question = QuestionFactory(municipality=municipality, published=True)
    assert other_client.get(reverse("fragdenob:detail", args=[question.pk])).status_code == 404


def test_support_and_withdraw_through_the_page(
    client: Client, municipality: Municipality, citizen: User
) -> None:
    question = QuestionFactory(municipality=municipality, published=True)
    url = reverse("fragdenob:support", args=[question.pk])
    assert client.post(url).status_code == 302  # to the login page
    assert not Support.objects.exists()
    signed_in(client, citizen)
    assert client.post(url).status_code == 302
    again = client.post(url)
    assert again.status_code == 409
    assert Support.objects.count() == 1
    client.post(url, {"action": "withdraw"})
    assert not Support.objects.exists()


def test_supporting_a_pending_question_is_not_found(
    client: Client, municipality: Municipality, citizen: User
) -> None:
    question = QuestionFactory(municipality=municipality)
    signed_in(client, citizen)
    assert client.post(reverse("fragdenob:support", args=[question.pk])).status_code == 404
    assert not Support.objects.exists()


def test_asking_without_javascript_shows_similar_questions_first(
    client: Client, municipality: Municipality, citizen: User, topic: Topic
) -> None:
    existing = QuestionFactory(
        municipality=municipality,
        topic=topic,
        published=True,
        title="Wann wird der Radweg in der Bahnhofstraße gebaut?",
    )
    signed_in(client, citizen)
    data = {"title": "Radweg Bahnhofstraße: wann geht es los?", "background": "", "topic": topic.pk}
    first = client.post(ASK, data)
    assert first.status_code == 200
    assert reverse("fragdenob:detail", args=[existing.pk]) in first.content.decode()
    assert Question.objects.count() == 1
    sent = client.post(ASK, {**data, "confirmed": "1"})
    question = Question.objects.exclude(pk=existing.pk).get()
    assert sent.status_code == 302
    assert sent["Location"] == reverse("fragdenob:mine_detail", args=[question.pk])
    assert question.status == "pending"


def test_similar_questions_fragment_for_htmx(
    client: Client, municipality: Municipality, topic: Topic
) -> None:
    QuestionFactory(
        municipality=municipality, topic=topic, published=True, title="Mehr Bäume am Spielplatz?"
    )
    QuestionFactory(municipality=municipality, topic=topic, title="Bäume am Spielplatz fällen?")
    fragment = client.get(reverse("fragdenob:suggest"), {"title": "Bäume Spielplatz"})
    html = fragment.content.decode()
    assert "Mehr Bäume am Spielplatz?" in html
    assert "fällen" not in html  # unpublished questions are never suggested
    assert client.get(reverse("fragdenob:suggest"), {"title": "x" * 50000}).status_code == 200


def test_asking_refuses_bad_input_and_foreign_topics(
    client: Client,
    municipality: Municipality,
    other_municipality: Municipality,
    citizen: User,
    topic: Topic,
) -> None:
    foreign = TopicFactory(municipality=other_municipality)
    signed_in(client, citizen)
    for data in (
        {"title": "", "topic": topic.pk, "confirmed": "1"},
        {"title": "x" * 201, "topic": topic.pk, "confirmed": "1"},
        {"title": "Frage?", "background": "y" * 1001, "topic": topic.pk, "confirmed": "1"},
        {"title": "Frage?", "topic": foreign.pk, "confirmed": "1"},
        {"title": "Frage?", "topic": "abc", "confirmed": "1"},
    ):
        response = client.post(ASK, data)
        assert response.status_code == 400, data
        assert 'aria-describedby="' in response.content.decode()
    assert not Question.objects.exists()


def test_the_freeze_is_shown_and_blocks_the_form(
    client: Client, municipality: Municipality, citizen: User, topic: Topic
) -> None:
    ElectionFreezeFactory(municipality=municipality, reason="OB-Wahl am 15. März")
    assert "OB-Wahl am 15. März" in client.get(reverse("fragdenob:list")).content.decode()
    signed_in(client, citizen)
    page = client.post(ASK, {"title": "Frage?", "topic": topic.pk, "confirmed": "1"})
    assert "OB-Wahl am 15. März" in page.content.decode()
    assert not Question.objects.exists()


def test_the_trust_level_is_asked_for(
    client: Client, municipality: Municipality, citizen: User
) -> None:
    municipality.settings = {"fragdenob.min_trust_level": 3}
    municipality.save()
    signed_in(client, citizen)
    response = client.get(ASK)
    assert response.status_code == 302
    assert reverse("oidc:step_up") in response["Location"]


def test_author_edits_a_rejected_question_but_not_another_s(
    client: Client, municipality: Municipality, citizen: User, other_citizen: User, topic: Topic
) -> None:
    question = QuestionFactory(
        municipality=municipality, author=citizen, topic=topic, status="rejected"
    )
    url = reverse("fragdenob:mine_detail", args=[question.pk])
    signed_in(client, other_citizen)
    assert client.get(url).status_code == 404
    assert client.post(url, {"title": "Gekapert?", "topic": topic.pk}).status_code == 404
    signed_in(client, citizen)
    assert client.post(url, {"title": "Besser gefragt?", "topic": topic.pk}).status_code == 302
    question.refresh_from_db()
    assert (question.title, question.status) == ("Besser gefragt?", "pending")


def test_editing_after_publication_is_refused(
    client: Client, municipality: Municipality, citizen: User, topic: Topic
) -> None:
    question = QuestionFactory(
        municipality=municipality, author=citizen, topic=topic, published=True
    )
    signed_in(client, citizen)
    response = client.post(
        reverse("fragdenob:mine_detail", args=[question.pk]), {"title": "Neu?", "topic": topic.pk}
    )
    assert response.status_code == 409
    question.refresh_from_db()
    assert question.title != "Neu?"


def test_codex_statistics_and_feed_pages(
    client: Client, municipality: Municipality, citizen: User
) -> None:
    question = QuestionFactory(municipality=municipality, published=True, title="Feed & Frage?")
    services.answer_publish(question=question, answer="Antwort.")
    codex = client.get(reverse("fragdenob:codex")).content.decode()
    assert "Beleidigung" in codex
    stats = client.get(reverse("fragdenob:statistics"))
    assert stats.status_code == 200
    assert b"<svg" in stats.content
    assert b"<script" not in stats.content.split(b"<main")[-1]
    feed = client.get(reverse("fragdenob:feed"))
    assert feed["Content-Type"].startswith("application/atom+xml")
    assert b"Feed &amp; Frage?" in feed.content
    assert b"Antwort." in feed.content


def test_one_click_unfollow_page(client: Client, municipality: Municipality, citizen: User) -> None:
    follow = FollowFactory(question=QuestionFactory(municipality=municipality, published=True))
    url = reverse("fragdenob:unfollow", args=[services.unfollow_token(follow)])
    assert client.get(url).status_code == 200
    assert Follow.objects.exists()  # a link scanner's GET changes nothing
    assert Client(enforce_csrf_checks=True).post(url).status_code == 200
    assert not Follow.objects.exists()
    assert client.get(reverse("fragdenob:unfollow", args=["forged"])).status_code == 404


# --- staff pages ---------------------------------------------------------------------------


def test_moderation_pages_need_the_moderator_role(
    client: Client, dialogue: Dialogue, citizen: User
) -> None:
    question = QuestionFactory(municipality=dialogue.municipality)
    queue = reverse("fragdenob:staff_queue")
    detail = reverse("fragdenob:staff_detail", args=[question.pk])
    signed_in(client, citizen)
    assert client.get(queue).status_code == 403
    signed_in(client, dialogue.outsider)
    assert client.get(queue).status_code == 403
    assert client.post(detail, {"action": "publish"}).status_code == 403
    signed_in(client, dialogue.moderator)
    assert question.title in client.get(queue).content.decode()
    assert client.get(detail).status_code == 200
    question.refresh_from_db()
    assert question.status == "pending"


def test_moderator_rejects_with_a_rule_then_publishes(client: Client, dialogue: Dialogue) -> None:
    question = QuestionFactory(municipality=dialogue.municipality)
    detail = reverse("fragdenob:staff_detail", args=[question.pk])
    signed_in(client, dialogue.moderator)
    no_rule = client.post(detail, {"action": "reject", "note": "Nein."})
    assert no_rule.status_code == 400
    insult = CodexRule.objects.get(municipality=dialogue.municipality, key="insult")
    assert client.post(detail, {"action": "reject", "rule": insult.pk}).status_code == 302
    question.refresh_from_db()
    assert question.status == "rejected"
    assert client.post(detail, {"action": "publish"}).status_code == 409


def test_another_tenant_s_question_is_not_found_for_moderators(
    client: Client, dialogue: Dialogue, other_municipality: Municipality
) -> None:
    foreign = QuestionFactory(municipality=other_municipality)
    signed_in(client, dialogue.moderator)
    url = reverse("fragdenob:staff_detail", args=[foreign.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"action": "publish"}).status_code == 404
    foreign.refresh_from_db()
    assert foreign.status == "pending"


def test_merge_needs_a_published_question_of_this_municipality(
    client: Client, dialogue: Dialogue, other_municipality: Municipality
) -> None:
    question = QuestionFactory(municipality=dialogue.municipality)
    foreign = QuestionFactory(municipality=other_municipality, published=True)
    signed_in(client, dialogue.moderator)
    url = reverse("fragdenob:staff_detail", args=[question.pk])
    assert client.post(url, {"action": "merge", "into": foreign.pk}).status_code == 400
    assert client.post(url, {"action": "merge", "into": "1e9"}).status_code == 400
    question.refresh_from_db()
    assert question.status == "pending"


def test_freezes_page_for_the_office_only(client: Client, dialogue: Dialogue) -> None:
    url = reverse("fragdenob:staff_freezes")
    signed_in(client, dialogue.moderator)
    assert client.get(url).status_code == 403
    signed_in(client, dialogue.office)
    today = timezone.localdate()
    bad = client.post(
        url,
        {
            "starts_on": today.isoformat(),
            "ends_on": (today - timedelta(days=2)).isoformat(),
            "reason": "Wahl",
        },
    )
    assert bad.status_code == 400
    assert (
        client.post(
            url, {"starts_on": "not a date", "ends_on": today.isoformat(), "reason": "Wahl"}
        ).status_code
        == 400
    )
    ok = client.post(
        url, {"starts_on": today.isoformat(), "ends_on": today.isoformat(), "reason": "OB-Wahl"}
    )
    assert ok.status_code == 302
    freeze = ElectionFreeze.objects.get()
    assert (
        client.post(reverse("fragdenob:staff_freeze_delete", args=[freeze.pk])).status_code == 302
    )
    assert not ElectionFreeze.objects.exists()


def test_the_office_marks_a_standard_reply(client: Client, dialogue: Dialogue) -> None:
    question = QuestionFactory(municipality=dialogue.municipality, published=True)
    services.answer_publish(question=question, answer="Siehe Vorlage.")
    url = reverse("fragdenob:staff_standard", args=[question.pk])
    signed_in(client, dialogue.moderator)
    assert client.post(url, {"standard": "on"}).status_code == 403
    signed_in(client, dialogue.office)
    assert client.post(url, {"standard": "on"}).status_code == 302
    question.refresh_from_db()
    assert question.answer_is_standard


def test_my_questions_lists_only_mine(
    client: Client, municipality: Municipality, citizen: User, other_citizen: User
) -> None:
    QuestionFactory(municipality=municipality, author=citizen, title="Meine Frage?")
    QuestionFactory(municipality=municipality, author=other_citizen, title="Fremde Frage?")
    html = signed_in(client, citizen).get(reverse("fragdenob:mine")).content.decode()
    assert "Meine Frage?" in html
    assert "Fremde Frage?" not in html


def test_a_citizen_of_another_tenant_cannot_use_this_tenant(
    other_client: Client, municipality: Municipality, other_municipality: Municipality
) -> None:
    stranger = make_citizen(municipality)
    question = QuestionFactory(municipality=municipality, published=True)
    other_client.force_login(stranger)
    # The session's account belongs to another municipality: the pages do not serve it
    response = other_client.post(reverse("fragdenob:support", args=[question.pk]))
    assert response.status_code in (302, 403, 404)
    assert not Support.objects.exists()


def test_top_questions_per_period(client: Client, municipality: Municipality) -> None:
    older = QuestionFactory(
        municipality=municipality,
        published=True,
        title="Vor zwanzig Tagen?",
        published_at=timezone.now() - timedelta(days=20),
    )
    SupportFactory(question=older)
    SupportFactory(question=older)
    recent = QuestionFactory(municipality=municipality, published=True, title="Von gestern?")
    SupportFactory(question=recent)
    QuestionFactory(municipality=municipality, published=True, title="Ohne Unterstützung?")

    def top(period: str) -> list[str]:
        page = client.get(reverse("fragdenob:list"), {"zeitraum": period})
        return [q.title for q in page.context["top"]]

    assert top("7") == ["Von gestern?"]
    assert top("30") == ["Vor zwanzig Tagen?", "Von gestern?"]
    assert top("bogus") == top("30")


def test_one_follow_up_through_the_page(
    client: Client, municipality: Municipality, citizen: User, other_citizen: User
) -> None:
    question = QuestionFactory(municipality=municipality, author=citizen, published=True)
    url = reverse("fragdenob:follow_up", args=[question.pk])
    signed_in(client, other_citizen)
    assert client.get(url).status_code == 404
    signed_in(client, citizen)
    assert client.get(url).status_code == 200
    assert client.post(url, {"title": "Und wer bezahlt das?"}).status_code == 302
    follow_up = Question.objects.get(parent=question)
    assert (follow_up.status, follow_up.topic_id) == ("pending", question.topic_id)
    again = client.post(url, {"title": "Noch eine Nachfrage?"})
    assert again.status_code == 409
    assert Question.objects.filter(parent=question).count() == 1
