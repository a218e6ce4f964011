"""A code is redeemed once, even when several requests race for it (PostgreSQL)."""

import threading
from typing import Any

import pytest
from django.db import close_old_connections, connection

from rathaus.devidp import services
from rathaus.devidp.models import AccessToken
from rathaus.devidp.personas import persona_get

ISSUER = "http://testserver/dev-idp"
REDIRECT_URI = "http://testserver/anmelden/oidc/devidp/callback/"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite serialises writers, so there is no race to test; runs on PostgreSQL",
)
def test_concurrent_redemptions_of_one_code_give_one_token() -> None:
    # Given one code and four workers with their own connections
    verifier = "v" * 43
    persona = persona_get("erika")
    assert persona is not None
    code = services.authorization_code_issue(
        issuer=ISSUER,
        client_id="rathaus-dev",
        redirect_uri=REDIRECT_URI,
        code_challenge=services.pkce_challenge(verifier),
        nonce="n",
        scope="openid",
        persona=persona,
    )
    start = threading.Barrier(4)
    outcomes: list[Any] = []

    def redeem() -> None:
        try:
            start.wait()
            outcomes.append(
                services.authorization_code_redeem(
                    issuer=ISSUER,
                    client_id="rathaus-dev",
                    code=code,
                    redirect_uri=REDIRECT_URI,
                    code_verifier=verifier,
                )["access_token"]
            )
        except services.InvalidGrant as error:
            outcomes.append(error.code)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=redeem) for _ in range(4)]
    # When all redeem it at once
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # Then exactly one got tokens; the others were refused (and may have revoked them)
    assert len(outcomes) == 4
    assert sorted(outcome == "invalid_grant" for outcome in outcomes) == [False, True, True, True]
    assert AccessToken.objects.count() <= 1
