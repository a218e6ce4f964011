"""Factories of the organisation app (one per model)."""

from typing import Any

import factory
from django.contrib.auth.models import Permission

from rathaus.organisation.models import OrgUnit, Role, RoleGrant
from tests.factories import MunicipalityFactory, StaffFactory


class OrgUnitFactory(factory.django.DjangoModelFactory):
    """A unit below ``parent`` (give one; a unit without parent is the root)."""

    class Meta:
        model = OrgUnit

    municipality = factory.LazyAttribute(
        lambda o: o.parent.municipality if o.parent else MunicipalityFactory()
    )
    parent = None
    code = factory.Sequence(lambda n: f"U{n}")
    name_de = factory.Sequence(lambda n: f"Einheit {n}")
    name_en = factory.Sequence(lambda n: f"Unit {n}")
    kind = OrgUnit.Kind.AMT

    @classmethod
    def _create(cls, model_class: type[OrgUnit], *args: Any, **kwargs: Any) -> OrgUnit:
        # The path is the services' business; here it is set the way they set it.
        unit = model_class.objects.create(*args, **kwargs)
        unit.path = f"{unit.parent.path if unit.parent else '/'}{unit.pk}/"
        unit.save(update_fields=["path"])
        return unit


class RoleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Role
        skip_postgeneration_save = True

    municipality = factory.SubFactory(MunicipalityFactory)
    key = factory.Sequence(lambda n: f"rolle-{n}")
    name_de = factory.Sequence(lambda n: f"Rolle {n}")
    name_en = factory.Sequence(lambda n: f"Role {n}")

    @factory.post_generation
    def permissions(self, create: bool, extracted: list[str] | None, **kwargs: object) -> None:
        if not create:
            return
        for dotted in extracted or []:
            app_label, codename = dotted.split(".")
            self.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )


class RoleGrantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RoleGrant

    org_unit = factory.SubFactory(OrgUnitFactory)
    municipality = factory.LazyAttribute(lambda o: o.org_unit.municipality)
    user = factory.LazyAttribute(lambda o: StaffFactory(municipality=o.org_unit.municipality))
    role = factory.LazyAttribute(lambda o: RoleFactory(municipality=o.org_unit.municipality))
    include_subunits = True
