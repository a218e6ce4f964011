"""The org unit tree: paths, one root, moves without cycles, no tenant crossing."""

from collections.abc import Iterator

import pytest
from django.utils import translation

from rathaus.audit.models import AuditEvent
from rathaus.core.errors import PermissionDenied, ValidationFailed
from rathaus.core.models import Municipality
from rathaus.organisation import selectors, services
from rathaus.organisation.models import OrgUnit
from tests.factories import StaffFactory
from tests.organisation.factories import RoleFactory, RoleGrantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Messages are compared in English, whatever an earlier request activated."""
    with translation.override("en"):
        yield


def _codes(units: object) -> list[str]:
    return sorted(unit.code for unit in units)  # type: ignore[attr-defined]


def test_default_tree_has_one_root_and_materialised_paths(
    units: dict[str, OrgUnit], municipality: Municipality
) -> None:
    root = units["SV"]
    assert root.parent is None
    assert root.path == f"/{root.pk}/"
    assert units["BB"].path == f"/{root.pk}/{units['FB 1'].pk}/{units['BB'].pk}/"
    assert units["BB"].ancestor_ids == [root.pk, units["FB 1"].pk]
    assert units["BB"].depth == 2
    assert OrgUnit.objects.filter(municipality=municipality, parent__isnull=True).count() == 1


def test_descendants_and_ancestors_are_one_query_each(
    units: dict[str, OrgUnit], django_assert_num_queries: object
) -> None:
    with django_assert_num_queries(1):  # type: ignore[operator]
        below = list(selectors.org_unit_descendants(unit=units["FB 2"]))
    assert _codes(below) == ["KASSE", "KÄM"]
    with django_assert_num_queries(1):  # type: ignore[operator]
        above = selectors.org_unit_ancestors(unit=units["KÄM"])
    assert [unit.code for unit in above] == ["SV", "FB 2"]


def test_tree_is_built_in_one_query(
    units: dict[str, OrgUnit], municipality: Municipality, django_assert_num_queries: object
) -> None:
    with django_assert_num_queries(1):  # type: ignore[operator]
        roots = selectors.org_unit_tree(municipality=municipality)
    assert [node.unit.code for node in roots] == ["SV"]
    assert [node.unit.name_de for node in roots[0].children] == [
        "Fachbereich Bauen",
        "Fachbereich Bürgerdienste",
        "Fachbereich Finanzen",
        "Fachbereich Organisation und Personal",
        "OB-Büro",
    ]


def test_second_root_is_refused(units: dict[str, OrgUnit], municipality: Municipality) -> None:
    with pytest.raises(ValidationFailed) as caught:
        services.org_unit_create(
            actor=None,
            municipality=municipality,
            parent=None,
            code="NEU",
            name_de="Zweite Verwaltung",
            kind=OrgUnit.Kind.ADMINISTRATION,
        )
    assert "parent" in caught.value.fields
    assert not OrgUnit.objects.filter(code="NEU").exists()


def test_short_name_is_unique_per_municipality_ignoring_case(
    units: dict[str, OrgUnit],
    other_units: dict[str, OrgUnit],
    municipality: Municipality,
) -> None:
    # Given the code "BB" in both municipalities already (each its own), when another
    # "bb" is created in Musterstadt, then it is refused
    with pytest.raises(ValidationFailed) as caught:
        services.org_unit_create(
            actor=None,
            municipality=municipality,
            parent=units["FB 1"],
            code="bb",
            name_de="Zweites Bürgerbüro",
            kind=OrgUnit.Kind.BUERGERBUERO,
        )
    assert caught.value.fields == {"code": ["This short name is already in use."]}


@pytest.mark.parametrize("code", ["", "   ", "a" * 31, "<script>", "FB;1"])
def test_malformed_short_names_are_refused(
    units: dict[str, OrgUnit], municipality: Municipality, code: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        services.org_unit_create(
            actor=None,
            municipality=municipality,
            parent=units["FB 1"],
            code=code,
            name_de="Amt",
            kind=OrgUnit.Kind.AMT,
        )
    assert "code" in caught.value.fields


def test_cross_tenant_parent_is_refused(
    units: dict[str, OrgUnit], other_units: dict[str, OrgUnit], municipality: Municipality
) -> None:
    count = OrgUnit.objects.count()
    with pytest.raises(ValidationFailed) as caught:
        services.org_unit_create(
            actor=None,
            municipality=municipality,
            parent=other_units["FB 1"],
            code="X1",
            name_de="Fremd",
            kind=OrgUnit.Kind.AMT,
        )
    assert caught.value.code == "cross_tenant"
    with pytest.raises(ValidationFailed):
        services.org_unit_move(actor=None, unit=units["BB"], new_parent=other_units["FB 2"])
    assert OrgUnit.objects.count() == count
    units["BB"].refresh_from_db()
    assert units["BB"].parent_id == units["FB 1"].pk


@pytest.mark.parametrize("target", ["FB 1", "BB"])
def test_moving_below_itself_or_a_subunit_is_refused(
    units: dict[str, OrgUnit], target: str
) -> None:
    fb1 = units["FB 1"]
    # a subunit below the Bürgerbüro, so the cycle would be two levels deep
    with pytest.raises(ValidationFailed) as caught:
        services.org_unit_move(actor=None, unit=fb1, new_parent=units[target])
    assert caught.value.code == "cycle"
    fb1.refresh_from_db()
    assert (fb1.parent_id, fb1.path) == (units["SV"].pk, f"/{units['SV'].pk}/{fb1.pk}/")


def test_root_cannot_be_moved(units: dict[str, OrgUnit]) -> None:
    with pytest.raises(ValidationFailed):
        services.org_unit_move(actor=None, unit=units["SV"], new_parent=units["OB"])


def test_move_rewrites_the_paths_of_the_whole_subtree_and_is_audited(
    units: dict[str, OrgUnit], municipality: Municipality
) -> None:
    # Given a Sachgebiet below the Kämmerei
    sachgebiet = services.org_unit_create(
        actor=None,
        municipality=municipality,
        parent=units["KÄM"],
        code="KÄM.1",
        name_de="Haushalt",
        kind=OrgUnit.Kind.SACHGEBIET,
    )
    admin = StaffFactory(municipality=municipality)
    RoleGrantFactory(
        user=admin,
        org_unit=units["SV"],
        role=RoleFactory(municipality=municipality, permissions=["organisation.manage_units"]),
    )
    # When the Kämmerei moves to the Fachbereich Organisation und Personal
    services.org_unit_move(actor=admin, unit=units["KÄM"], new_parent=units["FB 4"])
    # Then the Kämmerei and its Sachgebiet have new paths
    sachgebiet.refresh_from_db()
    root, fb4, kaem = units["SV"].pk, units["FB 4"].pk, units["KÄM"].pk
    assert sachgebiet.path == f"/{root}/{fb4}/{kaem}/{sachgebiet.pk}/"
    assert _codes(selectors.org_unit_descendants(unit=units["FB 4"])) == ["KÄM", "KÄM.1"]
    assert _codes(selectors.org_unit_descendants(unit=units["FB 2"])) == ["KASSE"]
    event = AuditEvent.objects.get(action="organisation.unit.moved")
    assert (event.actor_id, event.target_id, event.municipality_id) == (
        admin.pk,
        str(kaem),
        municipality.pk,
    )
    assert event.data == {
        "code": "KÄM",
        "from_parent_id": units["FB 2"].pk,
        "to_parent_id": fb4,
        "subunits_moved": 1,
    }


def test_moving_needs_manage_units_at_the_unit_and_the_new_parent(
    units: dict[str, OrgUnit], municipality: Municipality
) -> None:
    # Given an administrator of the Fachbereich Finanzen only
    admin = StaffFactory(municipality=municipality)
    RoleGrantFactory(
        user=admin,
        org_unit=units["FB 2"],
        role=RoleFactory(municipality=municipality, permissions=["organisation.manage_units"]),
    )
    # When they move the Stadtkasse into the Fachbereich Bauen, then it is refused
    with pytest.raises(PermissionDenied):
        services.org_unit_move(actor=admin, unit=units["KASSE"], new_parent=units["FB 3"])
    # And moving it within their Fachbereich works
    services.org_unit_move(actor=admin, unit=units["KASSE"], new_parent=units["KÄM"])
    assert OrgUnit.objects.get(pk=units["KASSE"].pk).parent_id == units["KÄM"].pk


def test_unit_with_active_subunits_cannot_be_deactivated(units: dict[str, OrgUnit]) -> None:
    fb1 = units["FB 1"]
    with pytest.raises(ValidationFailed) as caught:
        services.org_unit_update(
            actor=None,
            unit=fb1,
            code=fb1.code,
            name_de=fb1.name_de,
            kind=fb1.kind,
            is_active=False,
        )
    assert caught.value.fields == {"is_active": ["Deactivate its subunits first."]}
    assert OrgUnit.objects.get(pk=fb1.pk).is_active


def test_update_is_audited_with_the_changes(units: dict[str, OrgUnit]) -> None:
    bb = units["BB"]
    services.org_unit_update(
        actor=None,
        unit=bb,
        code="BB",
        name_de="Bürgerbüro Mitte",
        name_en=bb.name_en,
        kind=bb.kind,
        location=bb.location,
        email="buergerbuero@musterstadt.example",
    )
    event = AuditEvent.objects.get(action="organisation.unit.updated")
    assert event.data == {
        "code": "BB",
        "changes": {
            "name_de": ["Bürgerbüro", "Bürgerbüro Mitte"],
            "email": ["", "buergerbuero@musterstadt.example"],
        },
    }
