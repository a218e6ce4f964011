"""One factory per model."""

import factory
from django.contrib.auth.models import Permission

from rathaus.accounts.models import User
from rathaus.core.models import Municipality, MunicipalityDomain
from rathaus.legal.models import AccessibilityFeedback, LegalPage

PASSWORD = "correct-horse-battery-staple"


class MunicipalityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Municipality
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"gemeinde{n}")
    name = factory.Sequence(lambda n: f"Gemeinde {n}")
    ags = factory.Sequence(lambda n: f"08{n:06d}")
    state = "BW"
    email = factory.LazyAttribute(lambda o: f"info@{o.slug}.example")


class MunicipalityDomainFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MunicipalityDomain

    municipality = factory.SubFactory(MunicipalityFactory)
    hostname = factory.Sequence(lambda n: f"www.stadt{n}.example")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    municipality = factory.SubFactory(MunicipalityFactory)
    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.Sequence(lambda n: f"person{n}@example.org")
    first_name = "Erika"
    last_name = "Mustermann"
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def permissions(self, create: bool, extracted: list[str] | None, **kwargs: object) -> None:
        if not create:
            return
        for dotted in extracted or []:
            app_label, codename = dotted.split(".")
            self.user_permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        self.save()


class StaffFactory(UserFactory):
    is_staff = True


class LegalPageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LegalPage

    municipality = factory.SubFactory(MunicipalityFactory)
    kind = LegalPage.Kind.IMPRINT
    title_de = "Impressum"
    title_en = "Imprint"
    body_de = "<p>Angaben gemäß § 5 DDG</p>"
    body_en = "<p>Information according to § 5 DDG</p>"


class AccessibilityFeedbackFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AccessibilityFeedback

    municipality = factory.SubFactory(MunicipalityFactory)
    message = "Der Kontrast der Schaltflächen ist zu gering."
