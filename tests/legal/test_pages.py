"""Legal pages: public reading, the feedback form, and editing in the back office."""

import pytest
from django.core import mail
from django.test import Client
from django_tasks import task_backends

from rathaus.core.models import Municipality
from rathaus.legal.models import AccessibilityFeedback, LegalPage
from tests.factories import PASSWORD, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("url", "german", "english"),
    [
        ("/impressum/", "Impressum", "Imprint"),
        ("/datenschutz/", "Datenschutzerklärung", "Privacy notice"),
        ("/barrierefreiheit/", "Erklärung zur Barrierefreiheit", "Accessibility statement"),
    ],
)
def test_legal_pages_in_both_languages(
    client: Client, municipality: Municipality, url: str, german: str, english: str
) -> None:
    de = client.get(url, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    en = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f"<h1>{german}</h1>" in de
    assert '<html lang="de">' in de
    assert f"<h1>{english}</h1>" in en
    assert '<html lang="en">' in en


def test_each_tenant_sees_its_own_imprint(
    client: Client,
    other_client: Client,
    municipality: Municipality,
    other_municipality: Municipality,
) -> None:
    LegalPage.objects.filter(municipality=other_municipality, kind="imprint").update(
        body_de="<p>Nur Beispielheim</p>"
    )
    assert (
        "Nur Beispielheim"
        in other_client.get("/impressum/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    )
    assert (
        "Nur Beispielheim"
        not in client.get("/impressum/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    )


def test_statement_names_the_arbitration_body_and_feedback(
    client: Client, municipality: Municipality
) -> None:
    page = client.get("/barrierefreiheit/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert 'href="https://www.schlichtungsstelle-bgg.de/"' in page
    assert 'name="message"' in page
    assert "mailto:info@musterstadt.example" in page


@pytest.mark.django_db(transaction=True)
def test_feedback_is_stored_and_mailed_through_the_task_worker(
    client: Client,
    municipality: Municipality,
    smtp_server: object,
    django_capture_on_commit_callbacks: object,
) -> None:
    # Given the database task backend (the embedded default)
    assert type(task_backends["default"]).__name__ == "DatabaseBackend"
    # When a citizen reports a barrier
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        response = client.post(
            "/barrierefreiheit/",
            {
                "message": "Das PDF zur Hundesteuer ist nicht lesbar.",
                "email": "a@example.org",
                "page_url": "/hund",
            },
        )
    # Then it is stored and queued, not sent in the request
    assert response.status_code == 200
    assert "Vielen Dank" in response.content.decode() or "Thank you" in response.content.decode()
    feedback = AccessibilityFeedback.objects.get()
    assert (feedback.municipality, feedback.email, feedback.page_url) == (
        municipality,
        "a@example.org",
        "/hund",
    )
    assert smtp_server.messages == []  # type: ignore[attr-defined]
    # And the worker delivers it by real SMTP to the statement's contact
    from django.core.management import call_command

    call_command("db_worker", batch=True, interval=0)
    message = smtp_server.messages[0]  # type: ignore[attr-defined]
    assert message["To"] == "info@musterstadt.example"
    assert "Das PDF zur Hundesteuer ist nicht lesbar." in message.get_payload(decode=True).decode()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"message": ""}, "message"),
        ({"message": "x" * 5001}, "message"),
        ({"message": "ok", "email": "not-an-address"}, "email"),
        ({"message": "ok", "page_url": "p" * 501}, "page_url"),
    ],
)
def test_invalid_feedback_keeps_input_and_links_errors(
    client: Client, municipality: Municipality, data: dict[str, str], field: str
) -> None:
    response = client.post("/barrierefreiheit/", data)
    page = response.content.decode()
    assert response.status_code == 400
    assert f'id="id_{field}_error"' in page
    assert f'aria-describedby="id_{field}' in page or f'id_{field}_help id_{field}_error"' in page
    assert 'aria-invalid="true"' in page
    assert AccessibilityFeedback.objects.count() == 0


def test_feedback_form_answers_htmx_with_the_fragment_only(
    client: Client, municipality: Municipality
) -> None:
    response = client.post("/barrierefreiheit/", {"message": ""}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="feedback-form"')
    assert "<html" not in body


def test_honeypot_pretends_success_and_stores_nothing(
    client: Client, municipality: Municipality
) -> None:
    response = client.post(
        "/barrierefreiheit/", {"message": "Buy pills", "website": "http://spam.example"}
    )
    assert response.status_code == 200
    assert AccessibilityFeedback.objects.count() == 0


def test_feedback_is_rate_limited_per_sender(client: Client, municipality: Municipality) -> None:
    for _ in range(5):
        assert client.post("/barrierefreiheit/", {"message": "Barriere"}).status_code == 200
    response = client.post("/barrierefreiheit/", {"message": "Barriere"})
    assert response.status_code == 429
    assert AccessibilityFeedback.objects.count() == 5


class TestBackoffice:
    def test_anonymous_is_sent_to_login(self, client: Client, municipality: Municipality) -> None:
        response = client.get("/verwaltung/rechtliches/")
        assert response.status_code == 302
        assert response["Location"] == "/anmelden/?next=/verwaltung/rechtliches/"

    def test_citizen_is_forbidden(self, client: Client, municipality: Municipality) -> None:
        client.force_login(UserFactory(municipality=municipality))
        assert client.get("/verwaltung/rechtliches/").status_code == 403

    def test_staff_without_permission_is_forbidden(
        self, client: Client, municipality: Municipality
    ) -> None:
        page = LegalPage.objects.get(municipality=municipality, kind="imprint")
        client.force_login(StaffFactory(municipality=municipality))
        assert client.get("/verwaltung/rechtliches/").status_code == 403
        assert (
            client.post(f"/verwaltung/rechtliches/{page.pk}/", {"title_de": "X"}).status_code == 403
        )
        page.refresh_from_db()
        assert page.title_de == "Impressum"

    def test_editor_saves_and_html_is_sanitised(
        self, client: Client, municipality: Municipality
    ) -> None:
        page = LegalPage.objects.get(municipality=municipality, kind="imprint")
        client.force_login(
            StaffFactory(municipality=municipality, permissions=["legal.change_legalpage"])
        )
        response = client.post(
            f"/verwaltung/rechtliches/{page.pk}/",
            {
                "title_de": "Impressum",
                "title_en": "Imprint",
                "body_de": '<p onclick="steal()">Vertreten durch <b>die OB</b></p>'
                "<script>alert(1)</script>",
                "body_en": "<p>Represented by the mayor</p>",
            },
        )
        assert response.status_code == 302
        page.refresh_from_db()
        assert page.body_de == "<p>Vertreten durch <b>die OB</b></p>"

    def test_editor_cannot_reach_another_tenants_page(
        self, client: Client, municipality: Municipality, other_municipality: Municipality
    ) -> None:
        foreign = LegalPage.objects.get(municipality=other_municipality, kind="imprint")
        client.force_login(
            StaffFactory(municipality=municipality, permissions=["legal.change_legalpage"])
        )
        assert client.get(f"/verwaltung/rechtliches/{foreign.pk}/").status_code == 404
        response = client.post(
            f"/verwaltung/rechtliches/{foreign.pk}/",
            {"title_de": "Gehackt", "title_en": "", "body_de": "<p>x</p>", "body_en": ""},
        )
        assert response.status_code == 404
        foreign.refresh_from_db()
        assert foreign.title_de == "Impressum"

    def test_statement_requires_its_parts(self, client: Client, municipality: Municipality) -> None:
        page = LegalPage.objects.get(municipality=municipality, kind="accessibility")
        client.force_login(
            StaffFactory(municipality=municipality, permissions=["legal.change_legalpage"])
        )
        response = client.post(
            f"/verwaltung/rechtliches/{page.pk}/",
            {
                "title_de": "Erklärung",
                "body_de": "<p>x</p>",
                "conformance": "",
                "feedback_email": "",
                "arbitration_url": "",
            },
        )
        assert response.status_code == 400
        assert 'id="id_arbitration_url_error"' in response.content.decode()
        page.refresh_from_db()
        assert page.arbitration_url == "https://www.schlichtungsstelle-bgg.de/"

    def test_staff_logs_in_with_email_of_their_municipality(
        self, client: Client, municipality: Municipality, other_municipality: Municipality
    ) -> None:
        StaffFactory(municipality=other_municipality, email="same@example.org")
        response = client.post("/anmelden/", {"username": "same@example.org", "password": PASSWORD})
        assert response.status_code == 400
        assert "falsch" in response.content.decode() or "wrong" in response.content.decode()
        StaffFactory(municipality=municipality, email="same@example.org")
        response = client.post("/anmelden/", {"username": "SAME@example.org", "password": PASSWORD})
        assert response.status_code == 302


def test_no_mail_is_sent_synchronously(client: Client, municipality: Municipality) -> None:
    client.post("/barrierefreiheit/", {"message": "Barriere"})
    assert mail.outbox == []
