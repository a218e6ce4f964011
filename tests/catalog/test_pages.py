"""Public catalogue pages: browsing, search, service and office pages, in German and English."""

from typing import Any

import pytest
from django.test import Client

from rathaus.catalog.models import Service
from rathaus.catalog.services import ImportReport
from rathaus.core.models import Municipality
from tests.catalog.factories import (
    CategoryFactory,
    LeikaKeyFactory,
    LifeSituationFactory,
    LocationFactory,
    ServiceFactory,
    ServiceLocationFactory,
)

pytestmark = pytest.mark.django_db


def _page(client: Client, url: str, language: str = "de", status: int = 200) -> str:
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == status, response.content[:500]
    return response.content.decode()


@pytest.fixture
def catalogue(municipality: Municipality) -> dict[str, Any]:
    """A small catalogue: two services in a category and a life situation, one office."""
    category = CategoryFactory(
        municipality=municipality, slug="ausweise", name_de="Ausweise", name_en="ID documents"
    )
    situation = LifeSituationFactory(
        municipality=municipality, slug="reisen", name_de="Reisen", name_en="Travel"
    )
    empty = CategoryFactory(municipality=municipality, slug="leer", name_de="Leere Kategorie")
    service = ServiceFactory(
        municipality=municipality,
        slug="personalausweis",
        name_de="Personalausweis",
        name_en="Identity card",
        summary_de="Den Ausweis beantragen.",
        description_de="<p>Bringen Sie ein <strong>Passfoto</strong> mit.</p>",
        documents=[
            {
                "name_de": "Passfoto",
                "name_en": "Photo",
                "note_de": "biometrisch",
                "note_en": "biometric",
            }
        ],
        fees=[
            {
                "kind": "fixed",
                "amount_cents": 3700,
                "label_de": "ab 24 Jahren",
                "label_en": "aged 24 and over",
            },
            {"kind": "range", "amount_cents": 123456, "amount_max_cents": None},
            {"kind": "free", "label_de": "PIN"},
        ],
        processing_time_de="etwa drei Wochen",
        legal_basis_de="§ 9 PAuswG",
        online_mode="online_with_visit",
        online_url="https://service.example/perso",
        appointment=True,
        appointment_minutes=20,
        forms=[{"title": "Vollmacht", "url": "https://example.org/vollmacht.pdf"}],
        links=[{"title": "Portal", "url": "https://www.personalausweisportal.de/"}],
        attribution="Landeshauptstadt München, Servicedatenbank",
        licence="CC BY 4.0",
        licence_url="https://creativecommons.org/licenses/by/4.0/",
        source_url="https://stadt.muenchen.de/x",
    )
    service.categories.add(category)
    service.life_situations.add(situation)
    LeikaKeyFactory(service=service, key="99008001000000")
    other = ServiceFactory(municipality=municipality, slug="reisepass", name_de="Reisepass")
    other.categories.add(category)
    hidden = ServiceFactory(
        municipality=municipality, slug="versteckt", name_de="Versteckt", is_public=False
    )
    hidden.categories.add(empty)
    office = LocationFactory(
        municipality=municipality,
        name_de="Bürgerbüro Mitte",
        name_en="",
        latitude="48.137000",
        longitude="11.575000",
        opening_hours=[{"weekday": 0, "opens": "08:00", "closes": "12:00"}],
        wheelchair_accessible=True,
        accessibility_de="Aufzug am Seiteneingang.",
        phone="089 233-0",
        email="bb@musterstadt.example",
    )
    ServiceLocationFactory(service=service, location=office, appointment_minutes=25)
    return {"service": service, "office": office}


def test_the_index_offers_search_and_browsing(
    client: Client, catalogue: dict[str, Any], django_assert_num_queries: Any
) -> None:
    _page(client, "/leistungen/")  # warms the tenant cache
    with django_assert_num_queries(2):
        page = _page(client, "/leistungen/")
    assert '<html lang="de">' in page
    assert 'action="/leistungen/suche/"' in page
    assert 'name="q"' in page
    assert '<label for="id_q">' in page
    assert 'href="/leistungen/lebenslagen/reisen/">Reisen</a>' in page
    assert 'href="/leistungen/kategorien/ausweise/">Ausweise</a>' in page
    # A group with no public service is not offered
    assert "/leistungen/kategorien/leer/" not in page
    english = _page(client, "/leistungen/", "en")
    assert '<html lang="en">' in english
    assert 'href="/leistungen/kategorien/ausweise/">ID documents</a>' in english
    assert "(2 services)" in english
    assert "(1 service)" in english


def test_the_service_page_has_everything_a_citizen_needs(
    client: Client, catalogue: dict[str, Any], django_assert_num_queries: Any
) -> None:
    office = catalogue["office"]
    _page(client, "/leistungen/personalausweis/")  # warms the tenant cache
    # the service, its keys, offices, categories, life situations; its online form
    with django_assert_num_queries(6):
        page = _page(client, "/leistungen/personalausweis/")
    assert "<h1>Personalausweis</h1>" in page
    assert "<p>Bringen Sie ein <strong>Passfoto</strong> mit.</p>" in page
    assert "<li>Passfoto \u2013 biometrisch</li>" in page
    assert "ab 24 Jahren: <strong>37,00\u00a0€</strong>" in page
    assert "1.234,56\u00a0€" in page  # German grouping and decimal comma
    assert "etwa drei Wochen" in page
    assert "§ 9 PAuswG" in page
    assert "99008001000000" in page
    assert (
        f'<a href="/standorte/{office.pk}/">Bürgerbüro Mitte</a>, Marktplatz 1, 71634 Musterstadt'
        in page
    )
    assert 'href="https://service.example/perso"' in page
    assert 'href="https://example.org/vollmacht.pdf">Vollmacht</a>' in page
    assert 'href="/leistungen/lebenslagen/reisen/"' in page
    # The licence asks for attribution: source, licence linked, original page
    assert "Landeshauptstadt München, Servicedatenbank, " in page
    assert '<a href="https://creativecommons.org/licenses/by/4.0/">CC BY 4.0</a>' in page
    assert 'href="https://stadt.muenchen.de/x"' in page


def test_the_service_page_in_english_marks_german_parts(
    client: Client, catalogue: dict[str, Any]
) -> None:
    page = _page(client, "/leistungen/personalausweis/", "en")
    assert '<html lang="en">' in page
    assert "<h1>Identity card</h1>" in page
    assert "aged 24 and over: <strong>€37.00</strong>" in page
    assert "€1,234.56" in page
    assert "<li>Photo \u2013 biometric</li>" in page
    # The description exists in German only: it says so to screen readers
    assert '<section aria-labelledby="description-heading" lang="de">' in page
    # The office has no English name
    assert 'lang="de">Bürgerbüro Mitte</a>' in page


def test_names_are_escaped(client: Client, municipality: Municipality) -> None:
    ServiceFactory(municipality=municipality, slug="boese", name_de="<script>alert(1)</script>")
    page = _page(client, "/leistungen/boese/")
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_search_lists_hits(
    client: Client, catalogue: dict[str, Any], django_assert_num_queries: Any
) -> None:
    _page(client, "/leistungen/suche/?q=ausweis")  # warms the tenant cache and the index
    # The assistant's engine (the default) checks that its index is current (services,
    # lexicon) and reads the hits: three queries however many services match.
    with django_assert_num_queries(3):
        page = _page(client, "/leistungen/suche/?q=ausweis")
    assert 'href="/leistungen/personalausweis/">Personalausweis</a>' in page
    assert 'value="ausweis"' in page
    assert "/leistungen/versteckt/" not in page
    none = _page(client, "/leistungen/suche/?q=zzzqqq", "en")
    assert "0 services found for “zzzqqq”" in none


@pytest.mark.parametrize("query", ["x" * 201, "Perso" * 100])
def test_a_too_long_search_is_an_error_linked_to_the_field(
    client: Client, catalogue: dict[str, Any], query: str
) -> None:
    page = _page(client, f"/leistungen/suche/?q={query}", status=400)
    assert 'id="id_q_error"' in page
    assert 'aria-describedby="id_q_help id_q_error"' in page
    assert 'aria-invalid="true"' in page


def test_search_without_a_query_shows_the_form(client: Client, catalogue: dict[str, Any]) -> None:
    page = _page(client, "/leistungen/suche/")
    assert 'name="q"' in page
    assert 'id="results-heading"' not in page


def test_group_pages_list_their_public_services(
    client: Client, catalogue: dict[str, Any], django_assert_num_queries: Any
) -> None:
    _page(client, "/leistungen/kategorien/ausweise/")  # warms the tenant cache
    with django_assert_num_queries(2):
        page = _page(client, "/leistungen/kategorien/ausweise/")
    assert "<h1>Ausweise</h1>" in page
    assert page.index(">Personalausweis</a>") < page.index(">Reisepass</a>")
    situation = _page(client, "/leistungen/lebenslagen/reisen/", "en")
    assert "<h1>Travel</h1>" in situation
    assert ">Identity card</a>" in situation
    # The group of hidden services exists but lists nothing public
    empty = _page(client, "/leistungen/kategorien/leer/")
    assert "/leistungen/versteckt/" not in empty


def test_the_office_page(
    client: Client, catalogue: dict[str, Any], django_assert_num_queries: Any
) -> None:
    office = catalogue["office"]
    _page(client, f"/standorte/{office.pk}/")  # warms the tenant cache
    with django_assert_num_queries(2):
        page = _page(client, f"/standorte/{office.pk}/")
    assert "<h1>Bürgerbüro Mitte</h1>" in page
    assert "Marktplatz 1<br>71634 Musterstadt" in page
    assert '<th scope="row">Montag</th>' in page
    assert "Aufzug am Seiteneingang." in page
    assert 'href="tel:089233-0"' in page
    assert 'href="mailto:bb@musterstadt.example"' in page
    assert (
        'href="https://www.openstreetmap.org/?mlat=48.137000&amp;mlon=11.575000'
        '#map=18/48.137000/11.575000"'
    ) in page
    assert 'href="/leistungen/personalausweis/"' in page
    assert "<script" not in page.split('<main id="main"')[1]


@pytest.mark.parametrize(
    "url",
    [
        "/leistungen/personalausweis/",
        "/leistungen/kategorien/ausweise/",
        "/leistungen/lebenslagen/reisen/",
    ],
)
def test_another_municipality_sees_none_of_it(
    other_client: Client, other_municipality: Municipality, catalogue: dict[str, Any], url: str
) -> None:
    _page(other_client, url, status=404)


def test_another_municipalitys_office_is_not_found(
    other_client: Client, other_municipality: Municipality, catalogue: dict[str, Any]
) -> None:
    _page(other_client, f"/standorte/{catalogue['office'].pk}/", status=404)


def test_unpublished_services_and_offices_are_not_found(
    client: Client, catalogue: dict[str, Any]
) -> None:
    _page(client, "/leistungen/versteckt/", status=404)
    office = catalogue["office"]
    office.is_public = False
    office.save()
    _page(client, f"/standorte/{office.pk}/", status=404)
    # and the service no longer names it
    assert "Bürgerbüro Mitte" not in _page(client, "/leistungen/personalausweis/")


@pytest.mark.parametrize(
    "url", ["/leistungen/", "/leistungen/suche/?q=x", "/leistungen/personalausweis/"]
)
def test_pages_only_answer_get(client: Client, catalogue: dict[str, Any], url: str) -> None:
    assert client.post(url).status_code == 405
    assert Service.objects.filter(slug="personalausweis").exists()


def test_the_real_catalogue_renders(
    client: Client, munich_catalog: ImportReport, django_assert_num_queries: Any
) -> None:
    _page(client, "/leistungen/")  # warms the tenant cache
    with django_assert_num_queries(2):
        index = _page(client, "/leistungen/")
    assert 'href="/leistungen/lebenslagen/umzug/"' in index
    _page(client, "/leistungen/personalausweis/")  # warms the tenant cache
    # the service, its keys, offices, categories, life situations; its online form
    with django_assert_num_queries(6):
        page = _page(client, "/leistungen/personalausweis/")
    assert "<h1>Personalausweis</h1>" in page
    assert "Landeshauptstadt München, Servicedatenbank, " in page
    assert '<a href="https://creativecommons.org/licenses/by/4.0/">CC BY 4.0</a>' in page
    # Six Bürgerbüros offer it (teams of one office are listed once)
    assert page.count('href="/standorte/') == 6
    # The fee text was not fully structured: it is shown as the source wrote it
    assert "27,60 Euro" in page
    gewerbe = _page(client, "/leistungen/gewerbe-anmeldung/")
    assert "<strong>50,00\u00a0€" in gewerbe
    _page(client, "/leistungen/kategorien/aufenthalt-und-einbuergerung/")  # warms the tenant cache
    with django_assert_num_queries(2):
        _page(client, "/leistungen/kategorien/aufenthalt-und-einbuergerung/")
