"""Fixtures of the Frag den OB tests: topics, citizens, and the dialogue's staff roles."""

from dataclasses import dataclass

import pytest
from django.utils import timezone

from rathaus.accounts.models import User
from rathaus.core.models import Municipality
from rathaus.fragdenob import services, suggestions
from rathaus.fragdenob.models import District, Topic
from rathaus.organisation.models import OrgUnit
from rathaus.workflow import services as workflow
from tests.factories import UserFactory
from tests.fragdenob.factories import DistrictFactory, TopicFactory
from tests.organisation.factories import OrgUnitFactory, RoleFactory
from tests.workflow.factories import staff_with_role


@pytest.fixture(autouse=True)
def _fresh_index() -> None:
    # Each test has its own database: the process-wide index cache must not outlive it.
    suggestions.index_forget()


@pytest.fixture
def topic(municipality: Municipality) -> Topic:
    return TopicFactory(municipality=municipality, slug="verkehr", name_de="Verkehr")


@pytest.fixture
def district(municipality: Municipality) -> District:
    return DistrictFactory(municipality=municipality, slug="nordstadt", name="Nordstadt")


def make_citizen(municipality: Municipality, **kwargs: object) -> User:
    values: dict[str, object] = {"email_verified_at": timezone.now(), "language": "de"}
    values.update(kwargs)
    return UserFactory(municipality=municipality, **values)


@pytest.fixture
def citizen(municipality: Municipality) -> User:
    return make_citizen(municipality, email="erika@example.org")


@pytest.fixture
def other_citizen(municipality: Municipality) -> User:
    return make_citizen(municipality, email="max@example.org", first_name="Max")


@dataclass
class Dialogue:
    """The mayor's office and its people, with the roles the shipped process names."""

    municipality: Municipality
    office_unit: OrgUnit
    department: OrgUnit
    moderator: User
    office: User
    mayor: User
    clerk: User  # drafts answers in the department
    outsider: User  # staff without a role of the dialogue


@pytest.fixture
def dialogue(municipality: Municipality) -> Dialogue:
    root = OrgUnitFactory(municipality=municipality, code="SV", name_de="Stadtverwaltung")
    office_unit = OrgUnitFactory(municipality=municipality, parent=root, code="OB")
    department = OrgUnitFactory(municipality=municipality, parent=root, code="FB 3")
    moderation = RoleFactory(
        municipality=municipality, key="moderation", permissions=["fragdenob.moderate_questions"]
    )
    office = RoleFactory(
        municipality=municipality,
        key="buero-ob",
        permissions=[
            "fragdenob.moderate_questions",
            "fragdenob.manage_dialogue",
            "workflow.work_on_tasks",
        ],
    )
    mayor = RoleFactory(
        municipality=municipality,
        key="buergermeister",
        permissions=["fragdenob.manage_dialogue", "workflow.work_on_tasks"],
    )
    clerk = RoleFactory(
        municipality=municipality, key="sachbearbeitung", permissions=["workflow.work_on_tasks"]
    )
    services.codex_ensure(municipality=municipality)
    workflow.process_shipped_deploy(municipality=municipality)
    return Dialogue(
        municipality=municipality,
        office_unit=office_unit,
        department=department,
        moderator=staff_with_role(moderation, office_unit),
        office=staff_with_role(office, office_unit),
        mayor=staff_with_role(mayor, office_unit),
        clerk=staff_with_role(clerk, department),
        outsider=staff_with_role(None, None, municipality=municipality),
    )
