"""Racing supporters on PostgreSQL: two connections supporting at once give one support."""

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import close_old_connections, connection

from rathaus.accounts.models import User
from rathaus.fragdenob import services
from rathaus.fragdenob.models import Question, Support
from tests.fragdenob.factories import QuestionFactory

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SQLite serialises writers, so there is no race to test; runs on PostgreSQL",
    ),
]


def race(action: Callable[[], Any], count: int = 2) -> list[str]:
    """Run ``action`` in ``count`` threads with their own connections at the same moment."""
    start = threading.Barrier(count)
    outcomes: list[str] = []

    def run() -> None:
        try:
            start.wait()
            action()
            outcomes.append("ok")
        except BaseException as error:  # reported to the test
            outcomes.append(getattr(error, "code", repr(error)))
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return sorted(outcomes)


def test_two_connections_supporting_once(citizen: User) -> None:
    question: Question = QuestionFactory(municipality=citizen.municipality, published=True)
    outcomes = race(lambda: services.support_add(question=question, user=citizen), count=4)
    assert outcomes == ["already_supported", "already_supported", "already_supported", "ok"]
    assert Support.objects.filter(question=question).count() == 1


def test_two_follow_ups_at_once_give_one(citizen: User) -> None:
    question: Question = QuestionFactory(
        municipality=citizen.municipality, published=True, author=citizen
    )
    outcomes = race(
        lambda: services.question_submit(
            municipality=citizen.municipality,
            author=citizen,
            title="Und wann genau?",
            parent=question,
        )
    )
    assert outcomes == ["follow_up_exists", "ok"]
    assert Question.objects.filter(parent=question).count() == 1
