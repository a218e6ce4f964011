"""One factory per model of Frag den OB."""

import factory
from django.utils import timezone

from rathaus.fragdenob.models import (
    CodexRule,
    District,
    ElectionFreeze,
    Follow,
    ModerationDecision,
    Question,
    Support,
    Topic,
)
from tests.factories import MunicipalityFactory, UserFactory


class TopicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Topic

    municipality = factory.SubFactory(MunicipalityFactory)
    slug = factory.Sequence(lambda n: f"thema-{n}")
    name_de = factory.Sequence(lambda n: f"Thema {n}")
    name_en = factory.Sequence(lambda n: f"Topic {n}")


class DistrictFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = District

    municipality = factory.SubFactory(MunicipalityFactory)
    slug = factory.Sequence(lambda n: f"stadtteil-{n}")
    name = factory.Sequence(lambda n: f"Stadtteil {n}")


class CodexRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CodexRule

    municipality = factory.SubFactory(MunicipalityFactory)
    key = factory.Sequence(lambda n: f"regel-{n}")
    title_de = "Beleidigung"
    title_en = "Insult"
    text_de = "Keine Beleidigungen."
    text_en = "No insults."


class QuestionFactory(factory.django.DjangoModelFactory):
    """A question in any state; published ones get their dates."""

    class Meta:
        model = Question

    municipality = factory.SubFactory(MunicipalityFactory)
    author = factory.SubFactory(
        UserFactory,
        municipality=factory.SelfAttribute("..municipality"),
        email_verified_at=factory.LazyFunction(timezone.now),
    )
    title = factory.Sequence(lambda n: f"Frage Nummer {n} zur Stadtentwicklung?")
    background = ""
    topic = factory.SubFactory(TopicFactory, municipality=factory.SelfAttribute("..municipality"))
    submitted_at = factory.LazyFunction(timezone.now)

    class Params:
        published = factory.Trait(
            status=Question.Status.PUBLISHED,
            published_at=factory.LazyFunction(timezone.now),
            support_until=factory.LazyFunction(
                lambda: timezone.now() + timezone.timedelta(days=14)
            ),
        )


class ModerationDecisionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ModerationDecision

    question = factory.SubFactory(QuestionFactory)
    municipality = factory.SelfAttribute("question.municipality")
    action = ModerationDecision.Action.PUBLISH


class SupportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Support

    question = factory.SubFactory(QuestionFactory, published=True)
    municipality = factory.SelfAttribute("question.municipality")
    user = factory.SubFactory(UserFactory, municipality=factory.SelfAttribute("..municipality"))


class FollowFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Follow

    question = factory.SubFactory(QuestionFactory, published=True)
    municipality = factory.SelfAttribute("question.municipality")
    user = factory.SubFactory(UserFactory, municipality=factory.SelfAttribute("..municipality"))


class ElectionFreezeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ElectionFreeze

    municipality = factory.SubFactory(MunicipalityFactory)
    starts_on = factory.LazyFunction(lambda: timezone.localdate())
    ends_on = factory.LazyFunction(lambda: timezone.localdate() + timezone.timedelta(days=30))
    reason = "Oberbürgermeisterwahl am 15. März"
