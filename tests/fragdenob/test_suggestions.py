"""Similar questions come from the assistant's text engine; publishing invalidates the index."""

import pytest

from rathaus.accounts.models import User
from rathaus.core.models import Municipality
from rathaus.fragdenob import services, suggestions
from rathaus.fragdenob.models import Topic
from tests.fragdenob.conftest import Dialogue
from tests.fragdenob.factories import QuestionFactory

pytestmark = pytest.mark.django_db


def titles(municipality: Municipality, text: str) -> list[str]:
    return [
        s.question.title
        for s in suggestions.similar_questions(municipality=municipality, text=text)
    ]


def test_publishing_a_question_makes_it_a_suggestion(
    dialogue: Dialogue,
    citizen: User,
    topic: Topic,
    django_capture_on_commit_callbacks: object,
) -> None:
    municipality = citizen.municipality
    QuestionFactory(
        municipality=municipality, topic=topic, published=True, title="Wann öffnet das Hallenbad?"
    )
    assert titles(municipality, "Hallenbad Öffnung") == ["Wann öffnet das Hallenbad?"]
    question = services.question_submit(
        municipality=municipality,
        author=citizen,
        title="Warum ist das Hallenbad so teuer?",
        topic=topic.pk,
    )
    # Pending questions are not suggested; the index is cached
    assert titles(municipality, "Hallenbad teuer") == ["Wann öffnet das Hallenbad?"]
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        services.question_publish(question=question, moderator=dialogue.moderator)
    assert titles(municipality, "Hallenbad teuer")[0] == "Warum ist das Hallenbad so teuer?"


def test_suggestions_stay_within_the_municipality(
    municipality: Municipality, other_municipality: Municipality
) -> None:
    QuestionFactory(municipality=other_municipality, published=True, title="Radweg Nord?")
    assert titles(municipality, "Radweg Nord") == []
    assert titles(other_municipality, "Radweg Nord") == ["Radweg Nord?"]


def test_short_or_empty_text_suggests_nothing(municipality: Municipality) -> None:
    QuestionFactory(municipality=municipality, published=True, title="Ab?")
    assert titles(municipality, "") == []
    assert titles(municipality, "ab") == []
