"""Two first sign-ins with the same identity at the same moment make one account."""

import threading
from typing import Any

import pytest
from django.db import close_old_connections, connection
from django.test import Client

from rathaus.accounts.models import User
from rathaus.core.models import Municipality
from rathaus.oidc.models import ExternalIdentity
from tests.oidc.fake_provider import FakeProvider
from tests.oidc.helpers import ERIKA, authorization_params


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite serialises writers, so there is no race to test; runs on PostgreSQL",
)
def test_racing_first_sign_ins_create_one_account(
    municipality: Municipality, configured: Any, op: FakeProvider
) -> None:
    # Given two browsers that both finished at the provider as the same person
    callbacks = []
    for _browser in range(2):
        client = Client()
        params = authorization_params(client.get("/anmelden/oidc/ext/"))
        code = op.grant(nonce=params["nonce"], userinfo=ERIKA)
        callbacks.append((client, {"code": code, "state": params["state"]}))
    start = threading.Barrier(2)
    statuses: list[int] = []

    def come_back(client: Client, query: dict[str, str]) -> None:
        try:
            start.wait()
            statuses.append(client.get("/anmelden/oidc/ext/callback/", query).status_code)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=come_back, args=callback) for callback in callbacks]
    # When both come back at once
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # Then there is one account with one identity; the loser was signed in or told to retry
    assert User.objects.count() == 1
    assert ExternalIdentity.objects.count() == 1
    assert 302 in statuses
    assert set(statuses) <= {302, 403}
