"""Racing approvals on PostgreSQL: two engineers approving two drafts of the same plan at
the same moment leave exactly one active version; two plans whose hours overlap, exactly
one in force."""

import threading
from datetime import time

import pytest
from django.db import close_old_connections, connection

from rathaus.accounts.models import User
from rathaus.core.models import Municipality
from rathaus.traffic import services
from rathaus.traffic.models import SignalPlan

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SQLite serialises writers, so there is no race to test; runs on PostgreSQL",
    ),
]


def _race(drafts: list[SignalPlan], approver: User) -> list[str]:
    """Approve ``drafts`` at the same moment, one thread each; the outcomes."""
    start = threading.Barrier(len(drafts))
    outcomes: list[str] = []

    def approve(plan: SignalPlan) -> None:
        try:
            start.wait()
            services.plan_approve(plan=plan, actor=approver)
            outcomes.append("ok")
        except BaseException as error:  # reported to the test
            outcomes.append(repr(error))
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=approve, args=(d,)) for d in drafts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


@pytest.mark.parametrize(
    "windows",
    [
        # two versions of one plan
        [("Tag", time(6), time(22)), ("Tag", time(6), time(22))],
        # two plans whose hours overlap from 07:00 to 09:00
        [("Früh", time(5), time(9)), ("Spitze", time(7), time(10))],
    ],
)
def test_two_approvals_at_once_leave_one_plan_in_force(
    municipality: Municipality,
    cologne1_net: bytes,
    engineer: User,
    second_engineer: User,
    windows: list[tuple[str, time, time]],
) -> None:
    intersection = services.network_import(
        municipality=municipality, content=cologne1_net, network="cologne1"
    )[0]
    flows = {0: 500.0, 1: 100.0, 2: 400.0, 3: 100.0}
    drafts = [
        services.plan_compute(
            intersection=intersection,
            name=name,
            starts_at=starts,
            ends_at=ends,
            flows=flows,
            actor=engineer,
        )
        for name, starts, ends in windows
    ]
    outcomes = _race(drafts, second_engineer)
    assert len(outcomes) == 2
    assert SignalPlan.objects.filter(status=SignalPlan.Status.ACTIVE).count() == 1
    assert outcomes.count("ok") >= 1
    if windows[0][0] != windows[1][0]:
        assert outcomes.count("ok") == 1
        assert any("overlapping_plan" in o or "same time" in o for o in outcomes), outcomes
