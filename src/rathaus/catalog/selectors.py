"""Reads of the catalogue: public lists, search, and the catalogue as a document."""

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.module_loading import import_string

from rathaus.catalog.catalog_format import FORMAT_NAME, FORMAT_VERSION
from rathaus.catalog.models import (
    Category,
    LeikaKey,
    LifeSituation,
    Location,
    Service,
    ServiceLocation,
    Taxonomy,
)
from rathaus.catalog.search import ServiceHit, ServiceSearchEngine
from rathaus.core.models import Municipality

DEFAULT_SEARCH_ENGINE = "rathaus.catalog.search.KeywordSearch"


def search_engine() -> ServiceSearchEngine:
    """The configured engine (``RATHAUS_CATALOG_SEARCH_ENGINE``, a dotted class path)."""
    path = settings.RATHAUS_CATALOG_SEARCH_ENGINE or DEFAULT_SEARCH_ENGINE
    engine: ServiceSearchEngine = import_string(path)()
    return engine


def service_search(
    *, municipality: Municipality, query: str, language: str, limit: int = 20
) -> list[ServiceHit]:
    """Public services of ``municipality`` that answer ``query``, best first.

    ``language`` ("de" or "en") picks the language of names and summaries in the hits.
    """
    return search_engine().search(
        municipality=municipality, query=query, language=language, limit=limit
    )


def service_list_public(*, municipality: Municipality) -> QuerySet[Service]:
    """Public services, by German name."""
    return Service.objects.filter(municipality=municipality, is_public=True).order_by(
        "name_de", "pk"
    )


def _with_public_count(queryset: QuerySet[Any]) -> QuerySet[Any]:
    return queryset.annotate(
        service_count=Count("services", filter=Q(services__is_public=True))
    ).filter(service_count__gt=0)


def life_situation_list(*, municipality: Municipality) -> QuerySet[LifeSituation]:
    """Life situations with at least one public service, annotated with ``service_count``."""
    return _with_public_count(LifeSituation.objects.filter(municipality=municipality))


def category_list(*, municipality: Municipality) -> QuerySet[Category]:
    """Categories with at least one public service, annotated with ``service_count``."""
    return _with_public_count(Category.objects.filter(municipality=municipality))


def services_of(*, group: Taxonomy) -> QuerySet[Service]:
    """The public services of a category or life situation, by German name."""
    return group.services.filter(is_public=True).order_by("name_de", "pk")  # type: ignore[attr-defined]


def offers_of(*, service: Service) -> list[ServiceLocation]:
    """Where a service is offered, public offices only; one entry per office name and
    address (several teams of one office share them)."""
    offers = (
        ServiceLocation.objects.filter(service=service, location__is_public=True)
        .select_related("location")
        .order_by("location__name_de", "location__street", "location_id")
    )
    seen: set[tuple[str, str]] = set()
    unique = []
    for offer in offers:
        key = (offer.location.name_de, offer.location.address_line)
        if key not in seen:
            seen.add(key)
            unique.append(offer)
    return unique


def services_at(*, location: Location) -> QuerySet[Service]:
    """The public services offered at a location."""
    return Service.objects.filter(offered_at__location=location, is_public=True).order_by(
        "name_de", "pk"
    )


def services_for_api(
    *, municipality: Municipality, with_locations: bool = False
) -> QuerySet[Service]:
    """Public services with what the API shows of them, fetched in a fixed number of queries
    (LeiKa keys, categories, life situations; the public offices when asked)."""
    prefetches: list[Prefetch[Any]] = [
        Prefetch("leika_keys", queryset=LeikaKey.objects.order_by("position", "pk")),
        Prefetch("categories", queryset=Category.objects.order_by("position", "name_de")),
        Prefetch("life_situations", queryset=LifeSituation.objects.order_by("position", "name_de")),
    ]
    if with_locations:
        prefetches.append(
            Prefetch(
                "offered_at",
                queryset=ServiceLocation.objects.filter(location__is_public=True).select_related(
                    "location"
                ),
            )
        )
    return (
        service_list_public(municipality=municipality)
        .select_related("responsible_unit")
        .prefetch_related(*prefetches)
    )


def location_list_public(*, municipality: Municipality) -> QuerySet[Location]:
    """Public locations, by name."""
    return Location.objects.filter(municipality=municipality, is_public=True).order_by(
        "name_de", "pk"
    )


# The catalogue as a document of the own format (catalog_format). The same records are
# what an import compares with, so "unchanged" means "would export the same".


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def taxon_record(group: Taxonomy) -> dict[str, Any]:
    """A category or life situation as a record of the own format."""
    return {
        "slug": group.slug,
        "name_de": group.name_de,
        "name_en": group.name_en,
        "description_de": group.description_de,
        "description_en": group.description_en,
        "position": group.position,
    }


def location_record(location: Location) -> dict[str, Any]:
    """A location as a record of the own format."""
    return {
        "source": location.source,
        "source_id": location.source_id,
        "name_de": location.name_de,
        "name_en": location.name_en,
        "internal_name": location.internal_name,
        "alternative_names": list(location.alternative_names),
        "organisation": location.organisation,
        "street": location.street,
        "house_number": location.house_number,
        "postal_code": location.postal_code,
        "city": location.city,
        "latitude": _number(location.latitude),
        "longitude": _number(location.longitude),
        "opening_hours": list(location.opening_hours),
        "opening_hours_note_de": location.opening_hours_note_de,
        "opening_hours_note_en": location.opening_hours_note_en,
        "wheelchair_accessible": location.wheelchair_accessible,
        "accessibility_de": location.accessibility_de,
        "accessibility_en": location.accessibility_en,
        "phone": location.phone,
        "fax": location.fax,
        "email": location.email,
        "url": location.url,
        "is_public": location.is_public,
        "attribution": location.attribution,
        "licence": location.licence,
        "licence_url": location.licence_url,
    }


def service_record(service: Service) -> dict[str, Any]:
    """A service as a record of the own format; relations should be prefetched
    (``catalog_services_for_export``)."""
    return {
        "source": service.source,
        "source_id": service.source_id,
        "source_url": service.source_url,
        "slug": service.slug,
        "name_de": service.name_de,
        "name_en": service.name_en,
        "leika": [key.key for key in service.leika_keys.all()],
        "synonyms": list(service.synonyms),
        "keywords": list(service.keywords),
        "summary_de": service.summary_de,
        "summary_en": service.summary_en,
        "description_de": service.description_de,
        "description_en": service.description_en,
        "documents": list(service.documents),
        "fees": list(service.fees),
        "fees_text_de": service.fees_text_de,
        "fees_text_en": service.fees_text_en,
        "processing_time_de": service.processing_time_de,
        "processing_time_en": service.processing_time_en,
        "legal_basis_de": service.legal_basis_de,
        "legal_basis_en": service.legal_basis_en,
        "responsible_unit": service.responsible_unit.code if service.responsible_unit else None,
        "authority": service.authority,
        "online_mode": service.online_mode,
        "online_url": service.online_url,
        "appointment": service.appointment,
        "appointment_minutes": service.appointment_minutes,
        "bookable_online": service.bookable_online,
        "max_quantity": service.max_quantity,
        "links": list(service.links),
        "forms": list(service.forms),
        "categories": sorted(group.slug for group in service.categories.all()),
        "life_situations": sorted(group.slug for group in service.life_situations.all()),
        "locations": sorted(
            (
                {
                    "source": offer.location.source,
                    "source_id": offer.location.source_id,
                    "appointment_minutes": offer.appointment_minutes,
                }
                for offer in service.offered_at.all()
            ),
            key=lambda offer: (offer["source"], offer["source_id"]),
        ),
        "combinable": sorted(
            (
                {"source": other.source, "source_id": other.source_id}
                for other in service.combinable.all()
            ),
            key=lambda other: (other["source"], other["source_id"]),
        ),
        "is_public": service.is_public,
        "attribution": service.attribution,
        "licence": service.licence,
        "licence_url": service.licence_url,
    }


def catalog_services_for_export(*, municipality: Municipality) -> QuerySet[Service]:
    """Every service of a municipality (public or not) with its relations prefetched."""
    return (
        Service.objects.filter(municipality=municipality)
        .select_related("responsible_unit")
        .prefetch_related(
            Prefetch("leika_keys", queryset=LeikaKey.objects.order_by("position", "pk")),
            "categories",
            "life_situations",
            Prefetch("offered_at", queryset=ServiceLocation.objects.select_related("location")),
            Prefetch("combinable", queryset=Service.objects.only("source", "source_id")),
        )
        .order_by("source", "source_id")
    )


def catalog_document(*, municipality: Municipality) -> dict[str, Any]:
    """The whole catalogue of a municipality in the own format (``rathaus catalog export``)."""
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "municipality": municipality.slug,
        "exported_at": timezone.now().isoformat(timespec="seconds"),
        "categories": [
            taxon_record(group)
            for group in Category.objects.filter(municipality=municipality).order_by("slug")
        ],
        "life_situations": [
            taxon_record(group)
            for group in LifeSituation.objects.filter(municipality=municipality).order_by("slug")
        ],
        "locations": [
            location_record(location)
            for location in Location.objects.filter(municipality=municipality).order_by(
                "source", "source_id"
            )
        ],
        "services": [
            service_record(service)
            for service in catalog_services_for_export(municipality=municipality)
        ],
    }
