"""Racing requests on PostgreSQL: one nonce sent twice at once is accepted once; the same
question counted from several connections at once loses no count."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import close_old_connections, connection

from rathaus.assistant.models import Device, DeviceNonce, QuestionStat
from rathaus.assistant.selectors import Answer
from rathaus.assistant.services import (
    DeviceRefused,
    device_authenticate,
    device_create,
    question_record,
    signature_of,
)
from rathaus.core.models import Municipality

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SQLite serialises writers, so there is no race to test; runs on PostgreSQL",
    ),
]


def race(action: Callable[[], Any], threads: int = 2) -> list[str]:
    """Run ``action`` in several threads with their own connections at the same moment."""
    start = threading.Barrier(threads)
    outcomes: list[str] = []

    def run() -> None:
        try:
            start.wait()
            action()
            outcomes.append("ok")
        except DeviceRefused as error:
            outcomes.append(error.code)
        except BaseException as error:  # reported to the test
            outcomes.append(repr(error))
        finally:
            close_old_connections()
            connection.close()

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    return sorted(outcomes)


def test_a_nonce_raced_twice_is_accepted_once(municipality: Municipality) -> None:
    device, secret = device_create(municipality=municipality, actor=None, name="R", kind="robot")
    stamp, nonce, body = str(int(time.time())), "n" * 24, b"{}"
    signature = signature_of(
        secret=secret,
        method="POST",
        path="/api/v1/assistant/ask/",
        timestamp=stamp,
        nonce=nonce,
        body=body,
    )

    def authenticate() -> Device:
        return device_authenticate(
            municipality=municipality,
            key_id=device.key_id,
            timestamp=stamp,
            nonce=nonce,
            signature=signature,
            method="POST",
            path="/api/v1/assistant/ask/",
            body=body,
        )

    assert race(authenticate) == ["ok", "replayed_request"]
    assert DeviceNonce.objects.count() == 1


def test_counting_one_question_at_once_loses_nothing(municipality: Municipality) -> None:
    answer = Answer(question="Reisepass verloren", language="de")
    outcomes = race(
        lambda: question_record(municipality=municipality, answer=answer, channel="kiosk"),
        threads=4,
    )
    assert outcomes == ["ok"] * 4
    stat = QuestionStat.objects.get()
    assert stat.count == 4
