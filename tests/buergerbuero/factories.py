"""One factory per model of the Bürgerbüro."""

import factory

from rathaus.buergerbuero.models import (
    Appointment,
    Counter,
    Duty,
    Office,
    ServiceSetup,
    Skill,
    SpecialDay,
    Ticket,
)
from rathaus.catalog.models import ServiceLocation
from tests.catalog.factories import LocationFactory, ServiceFactory
from tests.factories import MunicipalityFactory

WEEKDAY_HOURS = [{"weekday": d, "opens": "08:00", "closes": "18:00"} for d in range(5)]


class OfficeLocationFactory(LocationFactory):
    opening_hours = factory.LazyFunction(lambda: list(WEEKDAY_HOURS))


class OfficeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Office

    municipality = factory.SubFactory(MunicipalityFactory)
    location = factory.SubFactory(
        OfficeLocationFactory, municipality=factory.SelfAttribute("..municipality")
    )
    short_notice_percent = 0


class CounterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Counter

    office = factory.SubFactory(OfficeFactory)
    municipality = factory.SelfAttribute("office.municipality")
    name = factory.Sequence(lambda n: f"Schalter {n + 1}")
    room = factory.Sequence(lambda n: f"E.{n + 1:02d}")
    floor = "EG"


class DutyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Duty

    counter = factory.SubFactory(CounterFactory)
    municipality = factory.SelfAttribute("counter.municipality")
    is_open = True


class SkillFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Skill


class SpecialDayFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SpecialDay

    municipality = factory.SelfAttribute("office.municipality")
    closed = True


class ServiceSetupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceSetup

    municipality = factory.SelfAttribute("office.municipality")


class AppointmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Appointment

    municipality = factory.SelfAttribute("office.municipality")
    code = factory.Sequence(lambda n: f"CODE{n:04d}")
    name = "Erika Mustermann"
    email = "erika@example.org"
    status = Appointment.Status.CONFIRMED


class TicketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Ticket

    municipality = factory.SelfAttribute("office.municipality")
    seq = factory.Sequence(lambda n: n + 1)
    number = factory.LazyAttribute(lambda o: f"A{o.seq:03d}")
    channel = Ticket.Channel.KIOSK


def offer(service: object, office: Office, minutes: int | None = None) -> ServiceLocation:
    """Offer ``service`` at ``office``'s location."""
    return ServiceLocation.objects.create(
        municipality=office.municipality,
        service=service,
        location=office.location,
        appointment_minutes=minutes,
    )


__all__ = [
    "AppointmentFactory",
    "CounterFactory",
    "DutyFactory",
    "OfficeFactory",
    "ServiceFactory",
    "ServiceSetupFactory",
    "SkillFactory",
    "SpecialDayFactory",
    "TicketFactory",
    "offer",
]
