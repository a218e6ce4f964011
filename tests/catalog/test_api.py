"""The catalogue API: list, search, filters and details, scoped to the host's municipality."""

from typing import Any

import pytest
from django.test import Client

from rathaus.catalog.models import Service
from rathaus.catalog.services import ImportReport
from rathaus.core.models import Municipality
from tests.catalog.factories import (
    CategoryFactory,
    LeikaKeyFactory,
    LocationFactory,
    ServiceFactory,
    ServiceLocationFactory,
)

# Until rathaus/urls.py includes the catalogue API (the lead wires it), the tests add it.
pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.catalog.urls")]


def _json(client: Client, url: str, status: int = 200) -> Any:
    response = client.get(url)
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == "application/json"
    return response.json()


@pytest.fixture
def services(municipality: Municipality) -> dict[str, Any]:
    category = CategoryFactory(municipality=municipality, slug="ausweise")
    perso = ServiceFactory(
        municipality=municipality,
        slug="personalausweis",
        name_de="Personalausweis",
        name_en="Identity card",
        online_mode="in_person",
        fees=[
            {
                "kind": "fixed",
                "amount_cents": 3700,
                "amount_max_cents": None,
                "currency": "EUR",
                "unit_de": "",
                "unit_en": "",
                "label_de": "",
                "label_en": "",
                "note_de": "",
                "note_en": "",
            }
        ],
        attribution="Landeshauptstadt München, Servicedatenbank",
        licence="CC BY 4.0",
        licence_url="https://creativecommons.org/licenses/by/4.0/",
    )
    perso.categories.add(category)
    LeikaKeyFactory(service=perso, key="99008001000000")
    office = LocationFactory(municipality=municipality, name_de="Bürgerbüro")
    ServiceLocationFactory(service=perso, location=office, appointment_minutes=20)
    online = ServiceFactory(
        municipality=municipality, slug="hundesteuer", name_de="Hundesteuer", online_mode="online"
    )
    hidden = ServiceFactory(municipality=municipality, slug="intern", is_public=False)
    return {"perso": perso, "online": online, "hidden": hidden, "office": office}


def test_the_list_shows_public_services(
    client: Client, services: dict[str, Any], django_assert_num_queries: Any
) -> None:
    _json(client, "/api/v1/services/")  # warms the tenant cache
    with django_assert_num_queries(5):  # count, page, LeiKa keys, categories, life situations
        body = _json(client, "/api/v1/services/")
    assert body["count"] == 2
    assert [item["slug"] for item in body["results"]] == ["hundesteuer", "personalausweis"]
    perso = body["results"][1]
    assert perso == {
        "id": services["perso"].pk,
        "slug": "personalausweis",
        "name_de": "Personalausweis",
        "name_en": "Identity card",
        "summary_de": "Eine Leistung der Stadt.",
        "summary_en": "",
        "leika": ["99008001000000"],
        "online_mode": "in_person",
        "categories": ["ausweise"],
        "life_situations": [],
        "page_url": "/leistungen/personalausweis/",
        "attribution": {
            "text": "Landeshauptstadt München, Servicedatenbank",
            "licence": "CC BY 4.0",
            "licence_url": "https://creativecommons.org/licenses/by/4.0/",
        },
    }


@pytest.mark.parametrize(
    ("query", "slugs"),
    [
        ("?q=ausweis", ["personalausweis"]),
        ("?q=identity", ["personalausweis"]),
        ("?q=zzz", []),
        ("?category=ausweise", ["personalausweis"]),
        ("?category=gibt-es-nicht", []),
        ("?leika=99008001000000", ["personalausweis"]),
        ("?online_mode=online", ["hundesteuer"]),
        ("?q=hundesteuer&online_mode=in_person", []),
    ],
)
def test_search_and_filters(
    client: Client, services: dict[str, Any], query: str, slugs: list[str]
) -> None:
    body = _json(client, f"/api/v1/services/{query}")
    assert [item["slug"] for item in body["results"]] == slugs


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?q=" + "x" * 201, "q"),
        ("?q=", "q"),
        ("?q=Perso%00", "q"),
        ("?q=a&q=b", "q"),
        ("?leika=12345", "leika"),
        ("?leika=99008001000000%00", "leika"),
        ("?online_mode=telepathy", "online_mode"),
        ("?category=<script>", "category"),
        ("?page=0", "page"),
        ("?page_size=1000", "page_size"),
    ],
)
def test_bad_parameters_are_refused(
    client: Client, services: dict[str, Any], query: str, field: str
) -> None:
    body = _json(client, f"/api/v1/services/{query}", status=400)
    assert body["error"]["code"] == "invalid"
    assert list(body["error"]["fields"]) == [field]


def test_search_results_are_ranked(client: Client, munich_catalog: ImportReport) -> None:
    body = _json(client, "/api/v1/services/?q=Personalausweis&page_size=3")
    assert body["results"][0]["name_de"] == "Personalausweis"
    assert body["count"] > 3


def test_the_detail_has_everything(
    client: Client, services: dict[str, Any], django_assert_num_queries: Any
) -> None:
    perso, office = services["perso"], services["office"]
    _json(client, f"/api/v1/services/{perso.pk}/")
    with django_assert_num_queries(5):
        body = _json(client, f"/api/v1/services/{perso.pk}/")
    assert body["fees"][0]["amount_cents"] == 3700
    assert body["locations"] == [
        {
            "location_id": office.pk,
            "name_de": "Bürgerbüro",
            "name_en": office.name_en,
            "address": "Marktplatz 1, 71634 Musterstadt",
            "appointment_minutes": 20,
        }
    ]
    assert (body["source"], body["source_id"]) == ("local", perso.source_id)
    assert body["description_de"] == "<p>Beschreibung der Leistung.</p>"


def test_locations(client: Client, services: dict[str, Any]) -> None:
    office = services["office"]
    LocationFactory(municipality=office.municipality, is_public=False)
    body = _json(client, "/api/v1/locations/")
    assert [item["id"] for item in body["results"]] == [office.pk]
    detail = _json(client, f"/api/v1/locations/{office.pk}/")
    assert detail["page_url"] == f"/standorte/{office.pk}/"
    assert detail["city"] == "Musterstadt"


def test_another_municipality_gets_404_and_sees_nothing(
    other_client: Client, other_municipality: Municipality, services: dict[str, Any]
) -> None:
    assert _json(other_client, "/api/v1/services/")["count"] == 0
    assert _json(other_client, "/api/v1/locations/")["count"] == 0
    for url in (
        f"/api/v1/services/{services['perso'].pk}/",
        f"/api/v1/locations/{services['office'].pk}/",
    ):
        assert _json(other_client, url, status=404)["error"]["code"] == "not_found"


def test_unpublished_services_are_not_found(client: Client, services: dict[str, Any]) -> None:
    _json(client, f"/api/v1/services/{services['hidden'].pk}/", status=404)


def test_the_api_is_read_only(client: Client, services: dict[str, Any]) -> None:
    perso = services["perso"]
    for url in ("/api/v1/services/", f"/api/v1/services/{perso.pk}/", "/api/v1/locations/"):
        assert client.post(url, {}, content_type="application/json").status_code == 405
        assert client.delete(url).status_code == 405
    assert Service.objects.filter(pk=perso.pk, is_public=True).exists()
