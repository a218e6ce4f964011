"""Factories of the postfach app (one per model). Rows only: the rules are the services'."""

import hashlib
from typing import Any

import factory
from django.core.files.base import ContentFile
from django.utils import timezone

from rathaus.accounts.trust import TrustLevel
from rathaus.postfach.models import Attachment, Delivery, DeliveryFollowUp, Message
from tests.factories import UserFactory
from tests.organisation.factories import OrgUnitFactory

PDF_BYTES = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


class MessageFactory(factory.django.DjangoModelFactory):
    """An outbound information message, unless told otherwise."""

    class Meta:
        model = Message

    org_unit = factory.SubFactory(OrgUnitFactory)
    municipality = factory.LazyAttribute(lambda o: o.org_unit.municipality)
    citizen = factory.LazyAttribute(lambda o: UserFactory(municipality=o.municipality))
    direction = Message.Direction.OUTBOUND
    kind = Message.Kind.INFORMATION
    subject = factory.Sequence(lambda n: f"Nachricht {n}")
    body = "Guten Tag,\n\nbitte beachten Sie die Hinweise."
    min_trust_level = TrustLevel.BASIC


class DeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Delivery

    message = factory.SubFactory(MessageFactory)
    municipality = factory.LazyAttribute(lambda o: o.message.municipality)
    sent_at = factory.LazyFunction(timezone.now)
    announced_at = factory.LazyAttribute(lambda o: o.sent_at)
    status = Delivery.Status.ANNOUNCED


class AttachmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Attachment

    message = factory.SubFactory(MessageFactory)
    municipality = factory.LazyAttribute(lambda o: o.message.municipality)
    original_name = "bescheid.pdf"
    content_type = "application/pdf"
    size = len(PDF_BYTES)
    sha256 = hashlib.sha256(PDF_BYTES).hexdigest()

    @classmethod
    def _create(cls, model_class: type[Attachment], *args: Any, **kwargs: Any) -> Attachment:
        attachment = model_class(*args, **kwargs)
        attachment.file.save("upload", ContentFile(PDF_BYTES), save=False)
        attachment.save()
        return attachment


class DeliveryFollowUpFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DeliveryFollowUp

    message = factory.SubFactory(MessageFactory, kind=Message.Kind.NOTICE)
    municipality = factory.LazyAttribute(lambda o: o.message.municipality)
    org_unit = factory.LazyAttribute(lambda o: o.message.org_unit)
    reason = Delivery.FailureReason.NOT_RETRIEVED
    due = factory.LazyFunction(timezone.localdate)
