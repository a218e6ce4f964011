"""Factories of the catalogue (one per model)."""

from typing import Any

import factory

from rathaus.catalog.models import (
    Category,
    LeikaKey,
    LifeSituation,
    Location,
    Service,
    ServiceLocation,
)
from rathaus.catalog.search import search_fields
from tests.factories import MunicipalityFactory


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    municipality = factory.SubFactory(MunicipalityFactory)
    slug = factory.Sequence(lambda n: f"kategorie-{n}")
    name_de = factory.Sequence(lambda n: f"Kategorie {n}")
    name_en = factory.Sequence(lambda n: f"Category {n}")


class LifeSituationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LifeSituation

    municipality = factory.SubFactory(MunicipalityFactory)
    slug = factory.Sequence(lambda n: f"lebenslage-{n}")
    name_de = factory.Sequence(lambda n: f"Lebenslage {n}")
    name_en = factory.Sequence(lambda n: f"Life situation {n}")


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location

    municipality = factory.SubFactory(MunicipalityFactory)
    source = "local"
    source_id = factory.Sequence(lambda n: f"standort-{n}")
    name_de = factory.Sequence(lambda n: f"Bürgerbüro {n}")
    name_en = factory.Sequence(lambda n: f"Citizens' office {n}")
    street = "Marktplatz"
    house_number = "1"
    postal_code = "71634"
    city = "Musterstadt"


class ServiceFactory(factory.django.DjangoModelFactory):
    """A public service; the folded search copies are set as the services set them."""

    class Meta:
        model = Service

    municipality = factory.SubFactory(MunicipalityFactory)
    source = "local"
    source_id = factory.Sequence(lambda n: f"leistung-{n}")
    slug = factory.Sequence(lambda n: f"leistung-{n}")
    name_de = factory.Sequence(lambda n: f"Leistung {n}")
    summary_de = "Eine Leistung der Stadt."
    description_de = "<p>Beschreibung der Leistung.</p>"

    @classmethod
    def _create(cls, model_class: type[Service], *args: Any, **kwargs: Any) -> Service:
        service = model_class(*args, **kwargs)
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
        service.save()
        return service


class LeikaKeyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LeikaKey

    service = factory.SubFactory(ServiceFactory)
    municipality = factory.LazyAttribute(lambda o: o.service.municipality)
    key = "99008001000000"


class ServiceLocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceLocation

    service = factory.SubFactory(ServiceFactory)
    location = factory.SubFactory(
        LocationFactory, municipality=factory.SelfAttribute("..service.municipality")
    )
    municipality = factory.LazyAttribute(lambda o: o.service.municipality)
    appointment_minutes = 15
