"""Factories of the parking app (one per model)."""

from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from rathaus.parking.models import (
    EventMode,
    ParkingSite,
    Reservation,
    Restriction,
    Sign,
    SignLine,
    SiteKind,
    Space,
)
from tests.factories import MunicipalityFactory, UserFactory


class ParkingSiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ParkingSite

    municipality = factory.SubFactory(MunicipalityFactory)
    external_id = factory.Sequence(lambda n: f"site-{n}")
    name = factory.Sequence(lambda n: f"Parkhaus {n}")
    kind = SiteKind.CAR_PARK
    lat = Decimal("48.895100")
    lon = Decimal("9.190300")
    capacity = 100


class RestrictionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Restriction

    site = factory.SubFactory(ParkingSiteFactory)
    kind = "DISABLED"
    capacity = 4


class SpaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Space

    site = factory.SubFactory(ParkingSiteFactory)
    municipality = factory.LazyAttribute(lambda o: o.site.municipality)
    external_id = factory.Sequence(lambda n: f"S{n}")
    reservable = True


class SignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Sign

    municipality = factory.SubFactory(MunicipalityFactory)
    key = factory.Sequence(lambda n: f"schild-{n}")
    name = factory.Sequence(lambda n: f"Schild {n}")


class SignLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SignLine

    sign = factory.SubFactory(SignFactory)
    site = factory.SubFactory(ParkingSiteFactory)
    arrow = "left"


class EventModeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EventMode

    municipality = factory.SubFactory(MunicipalityFactory)
    name = "Stadionfest"
    starts_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))
    ends_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=3))


class ReservationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Reservation

    space = factory.SubFactory(SpaceFactory)
    municipality = factory.LazyAttribute(lambda o: o.space.municipality)
    citizen = factory.LazyAttribute(lambda o: UserFactory(municipality=o.space.municipality))
    starts_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=1))
    ends_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=3))
    plate = "S-AB 123"
