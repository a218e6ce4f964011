"""Bad input gets a clear 4xx in the one error shape: JSON for the API, pages for people."""

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import include, path

from rathaus.core.models import Municipality

pytestmark = pytest.mark.django_db


def _boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("secret internal detail")


urlpatterns = [path("boom/", _boom), path("api/v1/boom/", _boom), path("", include("rathaus.urls"))]
handler500 = "rathaus.core.views.server_error"


def assert_error_shape(body: dict[str, object], code: str) -> None:
    assert set(body) == {"error"}
    error = body["error"]
    assert isinstance(error, dict)
    assert set(error) == {"code", "message", "fields"}
    assert error["code"] == code
    assert isinstance(error["message"], str)
    assert error["message"]


def test_unknown_api_route_is_json_404(client: Client, municipality: Municipality) -> None:
    response = client.get("/api/v1/does-not-exist/")
    assert response.status_code == 404
    assert_error_shape(response.json(), "not_found")


def test_unknown_page_is_an_html_404_in_german(client: Client, municipality: Municipality) -> None:
    response = client.get("/gibt-es-nicht/", HTTP_ACCEPT="text/html", HTTP_ACCEPT_LANGUAGE="de")
    assert response.status_code == 404
    assert "Seite nicht gefunden" in response.content.decode()


def test_wrong_method_on_a_page_gets_the_error_shape(
    client: Client, municipality: Municipality
) -> None:
    response = client.delete("/impressum/", HTTP_ACCEPT="application/json")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert_error_shape(response.json(), "method_not_allowed")


def test_wrong_method_on_the_api(client: Client, municipality: Municipality) -> None:
    response = client.delete("/api/v1/legal-pages/")
    assert response.status_code == 405
    assert_error_shape(response.json(), "method_not_allowed")


def test_malformed_json_is_a_400(client: Client, municipality: Municipality) -> None:
    response = client.post(
        "/api/v1/accessibility-feedback/", data="{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert_error_shape(response.json(), "parse_error")


def test_wrong_content_type_is_a_415(client: Client, municipality: Municipality) -> None:
    response = client.post(
        "/api/v1/accessibility-feedback/", data="message=x", content_type="text/plain"
    )
    assert response.status_code == 415
    assert_error_shape(response.json(), "unsupported_media_type")


def test_oversized_body_is_refused_before_reading(
    client: Client, municipality: Municipality, settings: object
) -> None:
    settings.RATHAUS_MAX_REQUEST_BODY = 1024  # type: ignore[attr-defined]
    response = client.post(
        "/api/v1/accessibility-feedback/",
        data='{"message": "' + "x" * 2000 + '"}',
        content_type="application/json",
    )
    assert response.status_code == 413
    assert_error_shape(response.json(), "too_large")


def test_form_body_over_the_form_limit_is_a_413(
    client: Client, municipality: Municipality, settings: object
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 512  # type: ignore[attr-defined]
    response = client.post(
        "/api/v1/accessibility-feedback/",
        data='{"message": "' + "x" * 2000 + '"}',
        content_type="application/json",
    )
    assert response.status_code == 413
    assert_error_shape(response.json(), "too_large")


def test_invalid_content_length_is_a_400(client: Client, municipality: Municipality) -> None:
    response = client.generic(
        "POST", "/api/v1/accessibility-feedback/", b"{}", CONTENT_LENGTH="abc"
    )
    assert response.status_code == 400
    assert_error_shape(response.json(), "bad_content_length")


def test_missing_csrf_token_is_a_clear_403(municipality: Municipality) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post("/barrierefreiheit/", {"message": "Kontrast"}, HTTP_ACCEPT="text/html")
    assert response.status_code == 403
    assert (
        "neu" in response.content.decode().lower() or "reload" in response.content.decode().lower()
    )


def test_missing_csrf_on_a_session_api_call_is_json(municipality: Municipality) -> None:
    from tests.factories import UserFactory

    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory(municipality=municipality))
    response = client.post(
        "/api/v1/accessibility-feedback/", {"message": "x"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] in {"permission_denied", "csrf_failed"}


@pytest.mark.urls("tests.core.test_errors")
def test_server_error_shows_no_stack_trace(municipality: Municipality) -> None:
    client = Client(raise_request_exception=False)
    page = client.get("/boom/", HTTP_ACCEPT="text/html")
    assert page.status_code == 500
    assert "secret internal detail" not in page.content.decode()
    assert "Traceback" not in page.content.decode()
    api = client.get("/api/v1/boom/")
    assert api.status_code == 500
    assert_error_shape(api.json(), "server_error")
    assert "secret" not in api.content.decode()
