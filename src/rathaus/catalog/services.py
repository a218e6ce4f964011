"""Writes of the catalogue: imports (DLDB and the own format) and the demo catalogue.

Both imports end in ``_apply``: the file is read and checked completely first, then applied
in one transaction (with the municipality's row locked, so two imports of one municipality
queue up). A record is matched to a stored one by ``(source, source_id)``; only the fields
the file carries are compared and written, so a DLDB import never clears the English texts
or documents an editor added. Services (and locations) of the same source that are missing
from a new file are unpublished, never deleted. A second run of the same file changes
nothing and reports so.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from rathaus.audit.services import audit_record
from rathaus.catalog import dldb, selectors, taxonomy
from rathaus.catalog.catalog_format import (
    MAX_IMPORT_BYTES,
    CatalogImportError,
    document_validated,
    read_json,
    schema_errors,
)
from rathaus.catalog.models import (
    RESERVED_SLUGS,
    Category,
    LeikaKey,
    LifeSituation,
    Location,
    Service,
    ServiceLocation,
)
from rathaus.catalog.search import search_fields
from rathaus.catalog.text import clean_inline, slug_base
from rathaus.core.errors import ValidationFailed, full_clean_or_fail
from rathaus.core.html import clean_html
from rathaus.core.models import Municipality
from rathaus.organisation.models import OrgUnit

logger = logging.getLogger(__name__)

ACTION_IMPORTED = "catalog.imported"
DEMO_SERVICES_FILE = Path("data/service-catalog/munich-dldb-services_de.json")
DEMO_LOCATIONS_FILE = Path("data/service-catalog/munich-dldb-locations_de.json")

_KEY = tuple[str, str]
# Fields stored as they are (after the clean-up in _service_normalised).
_SERVICE_PLAIN = (
    "source_url",
    "slug",
    "name_de",
    "name_en",
    "synonyms",
    "keywords",
    "summary_de",
    "summary_en",
    "description_de",
    "description_en",
    "documents",
    "fees",
    "fees_text_de",
    "fees_text_en",
    "processing_time_de",
    "processing_time_en",
    "legal_basis_de",
    "legal_basis_en",
    "authority",
    "online_mode",
    "online_url",
    "appointment",
    "appointment_minutes",
    "bookable_online",
    "max_quantity",
    "links",
    "forms",
    "is_public",
    "attribution",
    "licence",
    "licence_url",
)
_HTML_FIELDS = ("description_de", "description_en", "fees_text_de", "fees_text_en")
_LINE_FIELDS = ("name_de", "name_en", "authority", "attribution", "licence")


@dataclass
class ChangeSet:
    """What an import did to one kind of record, by source id."""

    created: list[str] = field(default_factory=list)
    updated: dict[str, list[str]] = field(default_factory=dict)  # id -> changed fields
    unchanged: list[str] = field(default_factory=list)
    unpublished: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "created": len(self.created),
            "updated": len(self.updated),
            "unchanged": len(self.unchanged),
            "unpublished": len(self.unpublished),
        }


@dataclass
class ImportReport:
    """The outcome of an import; with ``dry_run`` what it would have done."""

    source: str
    dry_run: bool
    services: ChangeSet = field(default_factory=ChangeSet)
    locations: ChangeSet = field(default_factory=ChangeSet)
    categories_created: list[str] = field(default_factory=list)
    life_situations_created: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether anything was (or would be) written."""
        return any(
            counts["created"] or counts["updated"] or counts["unpublished"]
            for counts in (self.services.counts(), self.locations.counts())
        ) or bool(self.categories_created or self.life_situations_created)

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        return {
            "source": self.source,
            "dry_run": self.dry_run,
            "services": {**self.services.counts(), **_ids(self.services)},
            "locations": {**self.locations.counts(), **_ids(self.locations)},
            "categories_created": self.categories_created,
            "life_situations_created": self.life_situations_created,
            "warnings": self.warnings,
        }

    def as_text(self) -> str:
        """The report for people: counts, then what changed by id."""
        lines = [
            (
                _("Dry run, nothing was saved: %(source)s")
                if self.dry_run
                else _("Imported: %(source)s")
            )
            % {"source": self.source}
        ]
        for title, changes in ((_("services"), self.services), (_("locations"), self.locations)):
            counts = changes.counts()
            lines.append(
                _(
                    "%(title)s: %(created)d created, %(updated)d updated, %(unchanged)d "
                    "unchanged, %(unpublished)d unpublished (missing from the source)"
                )
                % {"title": title, **counts}
            )
            if changes.created:
                lines.append("  + " + ", ".join(changes.created))
            for source_id, fields in changes.updated.items():
                lines.append(f"  ~ {source_id} ({', '.join(fields)})")
            if changes.unpublished:
                lines.append("  - " + ", ".join(changes.unpublished))
        if self.categories_created:
            lines.append(
                _("categories created: %(slugs)s") % {"slugs": ", ".join(self.categories_created)}
            )
        if self.life_situations_created:
            lines.append(
                _("life situations created: %(slugs)s")
                % {"slugs": ", ".join(self.life_situations_created)}
            )
        lines.extend(_("warning: %(text)s") % {"text": warning} for warning in self.warnings)
        return "\n".join(lines)


def _ids(changes: ChangeSet) -> dict[str, Any]:
    return {
        "created_ids": changes.created,
        "updated_ids": changes.updated,
        "unpublished_ids": changes.unpublished,
    }


class _DryRun(Exception):
    """Raised at the end of a dry run to roll its transaction back."""


# Normalising incoming records to exactly what would be stored (and exported).


def _strings(values: Iterable[str]) -> list[str]:
    result = []
    for value in values:
        text = clean_inline(value)
        if text and text not in result:
            result.append(text)
    return result


def _coordinate(value: float | None) -> float | None:
    return None if value is None else float(Decimal(str(value)).quantize(Decimal("0.000001")))


def _service_normalised(record: dict[str, Any]) -> dict[str, Any]:
    result = dict(record)
    for name in _HTML_FIELDS:
        if name in result:
            result[name] = clean_html(result[name]).strip()
    for name in _LINE_FIELDS:
        if name in result:
            result[name] = clean_inline(result[name])
    for name in (
        "summary_de",
        "summary_en",
        "processing_time_de",
        "processing_time_en",
        "legal_basis_de",
        "legal_basis_en",
    ):
        if name in result:
            result[name] = result[name].strip()
    for name in ("synonyms", "keywords"):
        if name in result:
            result[name] = _strings(result[name])
    for name in ("links", "forms"):
        if name in result:
            result[name] = [
                {"title": clean_inline(link["title"]), "url": link["url"].strip()}
                for link in result[name]
            ]
    if "documents" in result:
        result["documents"] = [
            {
                key: clean_inline(document.get(key, ""))
                for key in ("name_de", "name_en", "note_de", "note_en")
            }
            for document in result["documents"]
        ]
    if "fees" in result:
        result["fees"] = [
            {
                **fee,
                **{
                    key: clean_inline(fee.get(key, ""))
                    for key in ("unit_de", "unit_en", "label_de", "label_en", "note_de", "note_en")
                },
            }
            for fee in result["fees"]
        ]
    for name in ("categories", "life_situations"):
        if name in result:
            result[name] = sorted(set(result[name]))
    if "locations" in result:
        offers = {(offer["source"], offer["source_id"]): offer for offer in result["locations"]}
        result["locations"] = [
            {
                "source": key[0],
                "source_id": key[1],
                "appointment_minutes": offers[key].get("appointment_minutes"),
            }
            for key in sorted(offers)
        ]
    if "combinable" in result:
        keys = {(other["source"], other["source_id"]) for other in result["combinable"]}
        result["combinable"] = [{"source": s, "source_id": i} for s, i in sorted(keys)]
    return result


def _offer_sources(record: dict[str, Any]) -> set[str]:
    """The sources whose locations an import manages for a service: the service's own
    and those its offers name."""
    return {record["source"], *(offer["source"] for offer in record.get("locations", []))}


def _location_normalised(record: dict[str, Any]) -> dict[str, Any]:
    result = dict(record)
    for name in (
        "name_de",
        "name_en",
        "internal_name",
        "organisation",
        "street",
        "house_number",
        "postal_code",
        "city",
        "phone",
        "fax",
        "email",
        "url",
        "attribution",
        "licence",
    ):
        if name in result:
            result[name] = clean_inline(result[name])
    for name in (
        "opening_hours_note_de",
        "opening_hours_note_en",
        "accessibility_de",
        "accessibility_en",
    ):
        if name in result:
            result[name] = result[name].strip()
    if "alternative_names" in result:
        result["alternative_names"] = _strings(result["alternative_names"])
    for name in ("latitude", "longitude"):
        if name in result:
            result[name] = _coordinate(result[name])
    if "opening_hours" in result:
        result["opening_hours"] = sorted(
            result["opening_hours"], key=lambda hours: (hours["weekday"], hours["opens"])
        )
    return result


def _owned(record: dict[str, Any]) -> list[str]:
    """The fields a record carries (and so owns), in a stable order."""
    return [name for name in record if name not in ("source", "source_id")]


# Applying a checked document.


@dataclass
class _Plan:
    """What a source may do: which services are its own to unpublish, how it names groups."""

    source: str
    # Unpublish services and locations of this source missing from the file; None: all.
    scope: str | None
    # "document": the file's groups are authoritative; "defaults": create missing groups
    # from ``taxonomy`` and never rename existing ones.
    groups: str


def _apply_groups(
    model: type[Category] | type[LifeSituation],
    municipality: Municipality,
    records: list[dict[str, Any]],
    needed: set[str],
    defaults: Iterable[taxonomy.Group],
    plan: _Plan,
) -> tuple[dict[str, int], list[str]]:
    existing = {group.slug: group for group in model.objects.filter(municipality=municipality)}
    created = []
    if plan.groups == "document":
        for record in records:
            group = existing.get(record["slug"])
            values = {key: record[key] for key in record if key != "slug"}
            values["name_de"] = clean_inline(values["name_de"])
            values["name_en"] = clean_inline(values["name_en"])
            if group is None:
                group = model.objects.create(
                    municipality=municipality, slug=record["slug"], **values
                )
                existing[group.slug] = group
                created.append(group.slug)
            elif any(getattr(group, key) != value for key, value in values.items()):
                for key, value in values.items():
                    setattr(group, key, value)
                group.save()
    else:
        for position, default in enumerate(defaults):
            if default.slug in needed and default.slug not in existing:
                group = model.objects.create(
                    municipality=municipality,
                    slug=default.slug,
                    name_de=default.name_de,
                    name_en=default.name_en,
                    position=position,
                )
                existing[group.slug] = group
                created.append(group.slug)
    return {slug: group.pk for slug, group in existing.items()}, created


def _apply_locations(
    municipality: Municipality, records: list[dict[str, Any]], plan: _Plan, report: ImportReport
) -> dict[_KEY, int]:
    stored = {
        (location.source, location.source_id): location
        for location in Location.objects.filter(municipality=municipality)
    }
    seen = set()
    for raw in records:
        record = _location_normalised(raw)
        key = (record["source"], record["source_id"])
        seen.add(key)
        owned = _owned(record)
        location = stored.get(key)
        if location is None:
            location = Location(municipality=municipality, source=key[0], source_id=key[1])
            changed = owned
        else:
            current = selectors.location_record(location)
            changed = [name for name in owned if current[name] != record[name]]
            if not changed:
                report.locations.unchanged.append(key[1])
                continue
        for name in changed:
            value = record[name]
            if name in ("latitude", "longitude") and value is not None:
                value = Decimal(str(value))
            setattr(location, name, value)
        _checked(location, _("location %(id)s") % {"id": key[1]})
        is_new = location.pk is None
        location.save()
        stored[key] = location
        if is_new:
            report.locations.created.append(key[1])
        else:
            report.locations.updated[key[1]] = changed
    for key, location in stored.items():
        if key not in seen and location.is_public and plan.scope in (None, key[0]):
            location.is_public = False
            location.save(update_fields=["is_public", "updated_at"])
            report.locations.unpublished.append(key[1])
    return {key: location.pk for key, location in stored.items()}


def _checked(instance: Location | Service, label: str) -> None:
    """Model validation; a failure names the record and field like the file checks do."""
    try:
        full_clean_or_fail(instance, exclude=["municipality", "responsible_unit"])
    except ValidationFailed as error:
        raise CatalogImportError(
            [
                f"{label}: {name}: {message}"
                for name, messages in error.fields.items()
                for message in messages
            ]
        ) from error


def _unique_slug(base: str, taken: set[str]) -> str:
    slug, number = base, 2
    while slug in taken or slug in RESERVED_SLUGS:
        suffix = f"-{number}"
        slug = base[: 80 - len(suffix)].rstrip("-") + suffix
        number += 1
    return slug


def _apply_services(
    municipality: Municipality,
    records: list[dict[str, Any]],
    plan: _Plan,
    report: ImportReport,
    categories: dict[str, int],
    life_situations: dict[str, int],
    locations: dict[_KEY, int],
) -> None:
    stored = {
        (service.source, service.source_id): service
        for service in selectors.catalog_services_for_export(municipality=municipality)
    }
    slugs = {service.slug: key for key, service in stored.items()}
    # Short names are unique regardless of case; a record may write "bb" for "BB".
    units = {
        code.lower(): (pk, code)
        for code, pk in OrgUnit.objects.filter(municipality=municipality).values_list("code", "pk")
    }
    problems = []
    normalised = [_service_normalised(record) for record in records]
    for record in normalised:
        key = (record["source"], record["source_id"])
        unit = record.get("responsible_unit")
        if unit is not None and unit.lower() in units:
            record["responsible_unit"] = units[unit.lower()][1]
        elif unit is not None:
            problems.append(
                _("service %(id)s: responsible_unit: no org unit with the short name %(code)s")
                % {"id": key[1][:64], "code": unit[:30]}
            )
        slug = record.get("slug")
        if slug is not None:
            if slug in RESERVED_SLUGS:
                problems.append(
                    _("service %(id)s: slug: %(slug)s is reserved") % {"id": key[1], "slug": slug}
                )
            elif slugs.get(slug, key) != key:
                problems.append(
                    _("service %(id)s: slug: %(slug)s belongs to another service")
                    % {"id": key[1], "slug": slug}
                )
    if problems:
        raise CatalogImportError(problems)

    changes: dict[_KEY, list[str]] = {}
    created: list[_KEY] = []
    for record in normalised:
        key = (record["source"], record["source_id"])
        owned = _owned(record)
        service = stored.get(key)
        if service is None:
            service = Service(municipality=municipality, source=key[0], source_id=key[1])
            if "slug" not in record:
                service.slug = _unique_slug(slug_base(record["name_de"]), set(slugs))
            changed = owned
            created.append(key)
        else:
            current = selectors.service_record(service)
            if "locations" in record:
                # Offers at locations of other sources (a town's own office offering an
                # imported service) belong to the town, not to this import: keep them.
                managed = _offer_sources(record)
                current["locations"] = [
                    offer for offer in current["locations"] if offer["source"] in managed
                ]
            changed = [name for name in owned if current[name] != record[name]]
        changes[key] = changed
        if not changed:
            continue
        for name in changed:
            if name in _SERVICE_PLAIN:
                setattr(service, name, record[name])
        if "responsible_unit" in changed:
            unit = record["responsible_unit"]
            service.responsible_unit_id = units[unit.lower()][0] if unit else None
        for name, value in search_fields(
            name_de=service.name_de,
            name_en=service.name_en,
            synonyms=service.synonyms,
            keywords=service.keywords,
            summary_de=service.summary_de,
            summary_en=service.summary_en,
            description_de=service.description_de,
            description_en=service.description_en,
        ).items():
            setattr(service, name, value)
        _checked(service, _("service %(id)s") % {"id": key[1]})
        service.save()
        slugs[service.slug] = key
        stored[key] = service
        if "leika" in changed:
            LeikaKey.objects.filter(service=service).delete()
            LeikaKey.objects.bulk_create(
                LeikaKey(municipality=municipality, service=service, key=leika, position=index)
                for index, leika in enumerate(record["leika"])
            )
        if "categories" in changed:
            service.categories.set([categories[slug] for slug in record["categories"]])
        if "life_situations" in changed:
            service.life_situations.set(
                [life_situations[slug] for slug in record["life_situations"]]
            )
        if "locations" in changed:
            ServiceLocation.objects.filter(
                service=service, location__source__in=_offer_sources(record)
            ).delete()
            ServiceLocation.objects.bulk_create(
                ServiceLocation(
                    municipality=municipality,
                    service=service,
                    location_id=locations[(offer["source"], offer["source_id"])],
                    appointment_minutes=offer["appointment_minutes"],
                )
                for offer in record["locations"]
            )
    # Combinations refer to services that may be created above; set them last.
    for record in normalised:
        key = (record["source"], record["source_id"])
        if "combinable" in changes[key]:
            stored[key].combinable.set(
                [stored[(other["source"], other["source_id"])].pk for other in record["combinable"]]
            )
    for key, changed in changes.items():
        if key in created:
            report.services.created.append(key[1])
        elif changed:
            report.services.updated[key[1]] = changed
        else:
            report.services.unchanged.append(key[1])
    for key, service in stored.items():
        if key not in changes and service.is_public and plan.scope in (None, key[0]):
            service.is_public = False
            service.save(update_fields=["is_public", "updated_at"])
            report.services.unpublished.append(key[1])


def _apply(
    *,
    municipality: Municipality,
    document: dict[str, Any],
    plan: _Plan,
    manage_locations: bool,
    dry_run: bool,
    warnings: list[str],
    actor: Any = None,
) -> ImportReport:
    report = ImportReport(source=plan.source, dry_run=dry_run, warnings=list(warnings))
    try:
        with transaction.atomic():
            # One import per municipality at a time: the second waits for the first.
            list(Municipality.objects.select_for_update().filter(pk=municipality.pk).values("pk"))
            services = document["services"]
            needed_categories = {
                slug for record in services for slug in record.get("categories", [])
            }
            needed_situations = {
                slug for record in services for slug in record.get("life_situations", [])
            }
            categories, report.categories_created = _apply_groups(
                Category,
                municipality,
                document["categories"],
                needed_categories,
                taxonomy.CATEGORIES,
                plan,
            )
            life_situations, report.life_situations_created = _apply_groups(
                LifeSituation,
                municipality,
                document["life_situations"],
                needed_situations,
                taxonomy.LIFE_SITUATIONS,
                plan,
            )
            if manage_locations:
                locations = _apply_locations(municipality, document["locations"], plan, report)
            else:
                locations = {
                    (source, source_id): pk
                    for source, source_id, pk in Location.objects.filter(
                        municipality=municipality
                    ).values_list("source", "source_id", "pk")
                }
            _apply_services(
                municipality, services, plan, report, categories, life_situations, locations
            )
            if dry_run:
                raise _DryRun
            # An import that changed nothing leaves no trace (reruns stay idempotent).
            if report.changed:
                audit_record(
                    municipality=municipality,
                    action=ACTION_IMPORTED,
                    actor=actor,
                    target_type="catalog.source",
                    target_id=plan.source,
                    data={
                        "services": report.services.counts(),
                        "locations": report.locations.counts(),
                    },
                )
    except _DryRun:
        pass
    except IntegrityError as error:
        # Only reachable when stored rows conflict in a way the checks above did not see
        # (e.g. two services swapping slugs); nothing was saved.
        raise CatalogImportError(
            [
                _("The file conflicts with the stored catalogue: %(reason)s")
                % {"reason": str(error).splitlines()[0][:200]}
            ]
        ) from error
    return report


def catalog_import_dldb(
    *,
    municipality: Municipality,
    services_path: Path | str,
    locations_path: Path | str | None = None,
    dry_run: bool = False,
    publisher: dldb.Publisher | None = None,
    actor: Any = None,
    max_bytes: int = MAX_IMPORT_BYTES,
) -> ImportReport:
    """Import a DLDB services export (and its locations export) into ``municipality``.

    The publisher (source name, attribution, licence) is recognised from the export's
    URLs (Munich) or given. Without ``locations_path`` the locations of services are left
    as they are. Raises ``CatalogImportError`` listing every problem; then nothing is saved.
    """
    services_data = read_json(services_path, max_bytes=max_bytes)
    locations_data = (
        read_json(locations_path, max_bytes=max_bytes) if locations_path is not None else None
    )
    read = dldb.dldb_read(services_data, locations_data, publisher=publisher)
    if read.errors:
        raise CatalogImportError(read.errors)
    assert read.publisher is not None
    document = {
        "format": "rathaus-catalog",
        "version": 1,
        "categories": [],
        "life_situations": [],
        "locations": read.locations,
        "services": read.services,
    }
    # The translated records must be valid records of the own format: a last guard
    # against anything the reader let through.
    errors = schema_errors(document)
    if errors:
        raise CatalogImportError(errors)
    return _apply(
        municipality=municipality,
        document=document,
        plan=_Plan(source=read.publisher.source, scope=read.publisher.source, groups="defaults"),
        manage_locations=locations_path is not None,
        dry_run=dry_run,
        warnings=read.warnings,
        actor=actor,
    )


def catalog_import(
    *,
    municipality: Municipality,
    path: Path | str,
    dry_run: bool = False,
    actor: Any = None,
    max_bytes: int = MAX_IMPORT_BYTES,
) -> ImportReport:
    """Import a catalogue in the own format (``docs/catalog-format.md``) into ``municipality``.

    The file is the whole catalogue: its records are created or updated, services and
    locations of the municipality missing from it are unpublished. Raises
    ``CatalogImportError`` listing every problem; then nothing is saved.
    """
    document = document_validated(read_json(path, max_bytes=max_bytes))
    return _apply(
        municipality=municipality,
        document=document,
        plan=_Plan(source="rathaus-catalog", scope=None, groups="document"),
        manage_locations=True,
        dry_run=dry_run,
        warnings=[],
        actor=actor,
    )


def catalog_demo_load(*, municipality: Municipality) -> ImportReport | None:
    """Import the City of Munich's catalogue from the shared data into a demo municipality.

    Skips (with a log line) when ``RATHAUS_SHARED_DIR`` does not hold the files.
    """
    shared = Path(settings.RATHAUS_SHARED_DIR)
    services_path, locations_path = shared / DEMO_SERVICES_FILE, shared / DEMO_LOCATIONS_FILE
    if not services_path.is_file():
        logger.info("catalog demo: %s not found; no catalogue loaded", services_path)
        return None
    return catalog_import_dldb(
        municipality=municipality,
        services_path=services_path,
        locations_path=locations_path if locations_path.is_file() else None,
    )
