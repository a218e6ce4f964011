"""The municipality comes from the host name, and nothing crosses between tenants."""

from typing import Any

import pytest
from django.test import Client

from rathaus.core.models import Municipality, MunicipalityDomain
from rathaus.core.tenancy import municipality_site_url
from tests.factories import MunicipalityDomainFactory, MunicipalityFactory, StaffFactory

pytestmark = pytest.mark.django_db


def test_default_tenant_serves_loopback(client: Client, municipality: Municipality) -> None:
    response = client.get("/api/v1/municipality/")
    assert response.status_code == 200
    assert response.json()["slug"] == "musterstadt"


def test_subdomain_selects_the_tenant(
    municipality: Municipality, other_municipality: Municipality, other_client: Client
) -> None:
    response = other_client.get("/api/v1/municipality/")
    assert response.json() == {
        "slug": "beispielheim",
        "name": "Beispielheim",
        "ags": "08999002",
        "state": "BW",
        "email": "info@beispielheim.example",
        "phone": "",
        "address": "",
    }


def test_mapped_domain_selects_the_tenant(municipality: Municipality, settings: object) -> None:
    settings.ALLOWED_HOSTS = ["*"]  # type: ignore[attr-defined]
    town = MunicipalityFactory(slug="ludwigsburg", name="Ludwigsburg", ags="08118048")
    MunicipalityDomainFactory(municipality=town, hostname="service.ludwigsburg.example")
    response = Client(HTTP_HOST="service.ludwigsburg.example").get("/api/v1/municipality/")
    assert response.json()["ags"] == "08118048"


@pytest.mark.parametrize("host", ["unknown.localhost", "a.b.localhost"])
def test_unknown_host_is_a_clear_404(municipality: Municipality, host: str) -> None:
    response = Client(HTTP_HOST=host).get("/api/v1/municipality/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_municipality"


def test_unknown_host_gets_an_html_page_in_the_browser(municipality: Municipality) -> None:
    response = Client(HTTP_HOST="nowhere.localhost").get("/", HTTP_ACCEPT="text/html")
    assert response.status_code == 404
    assert b"<h1>" in response.content


def test_inactive_municipality_is_not_served(
    other_municipality: Municipality, other_client: Client
) -> None:
    Municipality.objects.filter(pk=other_municipality.pk).update(is_active=False)
    assert other_client.get("/").status_code == 404


def test_health_endpoints_need_no_tenant(db: None) -> None:
    assert Client(HTTP_HOST="nowhere.localhost").get("/healthz").status_code == 200


def test_session_of_another_tenant_is_anonymous_here(
    municipality: Municipality, other_municipality: Municipality, other_client: Client
) -> None:
    # Given a staff member of Musterstadt whose session cookie reaches Beispielheim
    staff = StaffFactory(municipality=municipality, permissions=["legal.change_legalpage"])
    other_client.force_login(staff)
    # When they open Beispielheim's back office
    response = other_client.get("/verwaltung/rechtliches/")
    # Then they are treated as signed out
    assert response.status_code == 302
    assert response["Location"].startswith("/anmelden/")


@pytest.mark.django_db
def test_site_url_uses_the_first_mapped_domain_and_the_public_scheme_and_port(
    settings: Any,
) -> None:
    municipality = Municipality.objects.create(slug="linkstadt", name="Linkstadt", ags="08999111")
    assert municipality_site_url(municipality) == "https://linkstadt.localhost"
    MunicipalityDomain.objects.create(municipality=municipality, hostname="www.linkstadt.example")
    MunicipalityDomain.objects.create(municipality=municipality, hostname="linkstadt.example")
    settings.RATHAUS_PUBLIC_SCHEME = "http"
    settings.RATHAUS_PUBLIC_PORT = 8000
    assert municipality_site_url(municipality) == "http://www.linkstadt.example:8000"
