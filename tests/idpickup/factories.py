"""Factories of the idpickup tests (one per model that tests build directly)."""

import datetime

import factory
from django.utils import timezone

from rathaus.idpickup import signing
from rathaus.idpickup.models import Alarm, Compartment, IdOrder, Terminal
from tests.catalog.factories import LocationFactory
from tests.factories import MunicipalityFactory


class TerminalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Terminal

    municipality = factory.SubFactory(MunicipalityFactory)
    location = factory.SubFactory(
        LocationFactory, municipality=factory.SelfAttribute("..municipality")
    )
    name = factory.Sequence(lambda n: f"Terminal {n}")
    device_id = factory.Sequence(lambda n: f"t-test{n:04d}")
    key_salt = factory.LazyFunction(signing.new_salt)
    key_issued_at = factory.LazyFunction(timezone.now)
    simulator = True


class CompartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Compartment

    terminal = factory.SubFactory(TerminalFactory)
    municipality = factory.SelfAttribute("terminal.municipality")
    number = factory.Sequence(lambda n: n + 1)
    size = "m"
    height_cm = 120


class IdOrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IdOrder

    municipality = factory.SubFactory(MunicipalityFactory)
    location = factory.SubFactory(
        LocationFactory, municipality=factory.SelfAttribute("..municipality")
    )
    kind = IdOrder.Kind.ID_CARD
    status = IdOrder.Status.APPLIED
    status_changed_at = factory.LazyFunction(timezone.now)
    given_name = "Erika"
    family_name = "Mustermann"
    date_of_birth = datetime.date(1980, 2, 29)
    booking_number = factory.Sequence(lambda n: f"BK{n:08d}")
    terminal_opt_in = True
    consent_at = factory.LazyFunction(timezone.now)
    contact_channel = IdOrder.Channel.EMAIL
    contact_address = "erika@example.org"
    fingerprint_ref = "FP-0001"


class AlarmFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Alarm

    terminal = factory.SubFactory(TerminalFactory)
    municipality = factory.SelfAttribute("terminal.municipality")
    kind = Alarm.Kind.DEVICE
    detail = "vibration"
    raised_at = factory.LazyFunction(timezone.now)
