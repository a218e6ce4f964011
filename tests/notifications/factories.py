"""Factories of the notifications app."""

import factory

from rathaus.notifications.models import (
    Channel,
    Notification,
    NotificationPreference,
    SmsTestMessage,
    Status,
)
from tests.factories import UserFactory


class NotificationFactory(factory.django.DjangoModelFactory):
    """An in-app message that was delivered."""

    class Meta:
        model = Notification

    recipient = factory.SubFactory(UserFactory)
    municipality = factory.LazyAttribute(lambda o: o.recipient.municipality)
    event = "tests.something_happened"
    key = factory.Sequence(lambda n: f"key-{n}")
    channel = Channel.INAPP
    template = "test_message"
    language = "de"
    subject = factory.Sequence(lambda n: f"Nachricht {n}")
    body = "Ihr Antrag ist eingegangen.\n"
    status = Status.SENT


class NotificationPreferenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = NotificationPreference

    user = factory.SubFactory(UserFactory)


class SmsTestMessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SmsTestMessage

    to = "+4915123456789"
    text = "Test"
    message_id = factory.Sequence(lambda n: f"m{n}")
