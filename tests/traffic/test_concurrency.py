"""Racing approvals on PostgreSQL: two engineers approving two drafts of the same plan at
the same moment leave exactly one active version."""

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


def test_two_approvals_at_once_leave_one_active_plan(
    municipality: Municipality, cologne1_net: bytes, engineer: User, second_engineer: User
) -> None:
    intersection = services.network_import(
        municipality=municipality, content=cologne1_net, network="cologne1"
    )[0]
    flows = {0: 500.0, 1: 100.0, 2: 400.0, 3: 100.0}
    drafts = [
        services.plan_compute(
            intersection=intersection,
            name="Tag",
            starts_at=time(6),
            ends_at=time(22),
            flows=flows,
            actor=engineer,
        )
        for _ in range(2)
    ]
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def approve(plan: SignalPlan) -> None:
        try:
            start.wait()
            services.plan_approve(plan=plan, actor=second_engineer)
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
    assert len(outcomes) == 2
    assert SignalPlan.objects.filter(status=SignalPlan.Status.ACTIVE).count() == 1
    assert outcomes.count("ok") >= 1
