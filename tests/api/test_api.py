"""The REST API: tenant scoping, authentication, pagination, validation."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from rathaus.accounts.services import api_token_create, api_token_revoke
from rathaus.core.models import Municipality
from rathaus.legal.models import AccessibilityFeedback
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_legal_pages_list_is_paginated_and_scoped(
    client: Client, municipality: Municipality, other_municipality: Municipality
) -> None:
    client.get("/api/v1/legal-pages/")  # warms the tenant cache
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/legal-pages/")
    body = response.json()
    assert response.status_code == 200
    assert body["count"] == 3
    assert [page["kind"] for page in body["results"]] == ["accessibility", "imprint", "privacy"]
    assert all(
        "Musterstadt" in page["body_de"] or page["kind"] == "accessibility"
        for page in body["results"]
    )
    # count and page; the tenant comes from the cache
    assert len(queries) == 2


def test_page_size_up_to_the_maximum(client: Client, municipality: Municipality) -> None:
    response = client.get("/api/v1/legal-pages/?page_size=100")
    assert response.status_code == 200
    assert response.json()["count"] == 3


def test_invalid_page_is_a_404_in_the_error_shape(
    client: Client, municipality: Municipality
) -> None:
    response = client.get("/api/v1/legal-pages/?page=999")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_unknown_kind_is_404(client: Client, municipality: Municipality) -> None:
    response = client.get("/api/v1/legal-pages/../../etc/passwd/")
    assert response.status_code == 404
    assert client.get("/api/v1/legal-pages/nonsense/").status_code == 404


def test_feedback_create(client: Client, municipality: Municipality) -> None:
    response = client.post(
        "/api/v1/accessibility-feedback/",
        {"message": "Kontrast zu gering"},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert response.json()["status"] == "new"
    assert AccessibilityFeedback.objects.get().municipality == municipality


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "message"),
        ({"message": ""}, "message"),
        ({"message": "x" * 5001}, "message"),
        ({"message": ["a", "b"]}, "message"),
        ({"message": "ok", "email": "nope"}, "email"),
        ({"message": "ok", "page_url": "u" * 501}, "page_url"),
    ],
)
def test_feedback_validation_errors_name_the_field(
    client: Client, municipality: Municipality, payload: dict[str, object], field: str
) -> None:
    response = client.post(
        "/api/v1/accessibility-feedback/", payload, content_type="application/json"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert list(error["fields"]) == [field]
    assert AccessibilityFeedback.objects.count() == 0


def test_feedback_body_must_be_an_object(client: Client, municipality: Municipality) -> None:
    response = client.post(
        "/api/v1/accessibility-feedback/", ["message"], content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "non_field_errors": [response.json()["error"]["fields"]["non_field_errors"][0]]
    }


def test_feedback_rate_limit_is_429(client: Client, municipality: Municipality) -> None:
    for _ in range(5):
        client.post(
            "/api/v1/accessibility-feedback/", {"message": "m"}, content_type="application/json"
        )
    response = client.post(
        "/api/v1/accessibility-feedback/", {"message": "m"}, content_type="application/json"
    )
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "rate_limited"


class TestTokens:
    def test_valid_token_authenticates(self, client: Client, municipality: Municipality) -> None:
        user = UserFactory(municipality=municipality)
        _, raw = api_token_create(user=user, name="Fachverfahren")
        response = client.post(
            "/api/v1/accessibility-feedback/",
            {"message": "m"},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {raw}",
        )
        assert response.status_code == 201

    def test_token_is_stored_only_as_hash(self, municipality: Municipality) -> None:
        token, raw = api_token_create(user=UserFactory(municipality=municipality), name="x")
        assert raw not in (token.key_hash, token.prefix)
        assert raw[3:11] == token.prefix

    @pytest.mark.parametrize("header", ["Bearer ", "Bearer nonsense", "Bearer " + "x" * 500])
    def test_bad_tokens_are_401(
        self, client: Client, municipality: Municipality, header: str
    ) -> None:
        response = client.get("/api/v1/legal-pages/", HTTP_AUTHORIZATION=header)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "authentication_failed"
        assert response["WWW-Authenticate"] == "Bearer"

    def test_revoked_and_expired_tokens_are_401(
        self, client: Client, municipality: Municipality
    ) -> None:
        user = UserFactory(municipality=municipality)
        revoked, raw_revoked = api_token_create(user=user, name="a")
        api_token_revoke(token=revoked)
        _, raw_expired = api_token_create(
            user=user, name="b", expires_at=timezone.now() - timedelta(seconds=1)
        )
        for raw in (raw_revoked, raw_expired):
            assert (
                client.get("/api/v1/legal-pages/", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code
                == 401
            )

    def test_token_of_another_tenant_is_401(
        self, other_client: Client, municipality: Municipality, other_municipality: Municipality
    ) -> None:
        _, raw = api_token_create(user=UserFactory(municipality=municipality), name="x")
        response = other_client.get("/api/v1/legal-pages/", HTTP_AUTHORIZATION=f"Bearer {raw}")
        assert response.status_code == 401


def test_schema_and_docs_are_served(client: Client, municipality: Municipality) -> None:
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()


@pytest.mark.parametrize(
    "query",
    ["page_size=abc", "page_size=0", "page_size=-1", "page_size=101", "page_size=1&page_size=2"],
)
def test_malformed_page_size_is_a_400(
    client: Client, municipality: Municipality, query: str
) -> None:
    response = client.get(f"/api/v1/legal-pages/?{query}")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["page_size"]


def test_numbers_are_not_strings(client: Client, municipality: Municipality) -> None:
    response = client.post(
        "/api/v1/accessibility-feedback/",
        {"message": 42, "page_url": 0},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"message", "page_url"}


@pytest.mark.parametrize("query", ["page=", "page=0", "page=x", "page=1&page=2", "page=last"])
def test_malformed_page_is_a_400(client: Client, municipality: Municipality, query: str) -> None:
    response = client.get(f"/api/v1/legal-pages/?{query}")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["page"]
