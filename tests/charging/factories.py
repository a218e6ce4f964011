"""Factories of the charging module."""

from decimal import Decimal

import factory

from rathaus.charging.models import (
    ChargingSession,
    Connector,
    OcppVersion,
    Site,
    Station,
    Tariff,
    Token,
)
from rathaus.charging.services import password_hash
from tests.factories import MunicipalityFactory

STATION_SECRET = "station-secret-for-tests-0123456789"


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site

    municipality = factory.SubFactory(MunicipalityFactory)
    name = factory.Sequence(lambda n: f"Parkhaus {n}")
    street = "Marktplatz 1"
    postal_code = "70000"
    city = "Musterstadt"
    latitude = Decimal("48.775800")
    longitude = Decimal("9.182900")
    grid_limit_w = 44000


class TariffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tariff

    municipality = factory.SubFactory(MunicipalityFactory)
    name = "Standard"
    energy_ct_per_kwh = 49
    time_ct_per_hour = 0
    blocking_ct_per_minute = 10
    blocking_grace_minutes = 60
    blocking_cap_ct = 1200


class StationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Station
        skip_postgeneration_save = True

    site = factory.SubFactory(SiteFactory)
    municipality = factory.LazyAttribute(lambda o: o.site.municipality)
    identity = factory.Sequence(lambda n: f"CP-{n:05d}")
    name = factory.Sequence(lambda n: f"Ladesäule {n}")
    max_power_w = 22000
    password_hash = factory.LazyFunction(lambda: password_hash(STATION_SECRET))

    @factory.post_generation
    def connectors(self, create: bool, extracted: int | None, **kwargs: object) -> None:
        if not create:
            return
        for number in range(1, (1 if extracted is None else extracted) + 1):
            Connector.objects.create(
                municipality=self.municipality,
                station=self,
                connector_id=number,
                max_power_w=self.max_power_w,
            )


class TokenFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Token

    municipality = factory.SubFactory(MunicipalityFactory)
    uid = factory.Sequence(lambda n: f"CARD{n:06d}")
    kind = Token.Kind.CONTRACT
    holder = "Erika Mustermann"
    contract_ref = factory.Sequence(lambda n: f"V-{n:05d}")


class ChargingSessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChargingSession

    station = factory.SubFactory(StationFactory)
    municipality = factory.LazyAttribute(lambda o: o.station.municipality)
    connector_id = 1
    transaction_ref = factory.Sequence(lambda n: f"T{n}")
    ocpp_version = OcppVersion.V16
    started_at = factory.Faker("date_time_this_month", tzinfo=__import__("datetime").UTC)
