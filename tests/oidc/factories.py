"""Factories of the oidc app's models."""

import factory

from rathaus.oidc.models import ExternalIdentity
from tests.factories import MunicipalityFactory, UserFactory


class ExternalIdentityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExternalIdentity

    municipality = factory.SubFactory(MunicipalityFactory)
    user = factory.SubFactory(UserFactory, municipality=factory.SelfAttribute("..municipality"))
    provider = "ext"
    subject = factory.Sequence(lambda n: f"subject-{n}")
