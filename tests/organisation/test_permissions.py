"""Permission checks from role grants: per unit, with subunits, expiry, tenants; the backend."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from rathaus.core.models import Municipality
from rathaus.legal.models import LegalPage
from rathaus.organisation.models import OrgUnit, Role
from rathaus.organisation.permissions import (
    units_where,
    user_can,
    user_can_anywhere,
    user_has_privileged_role,
    user_unit_permissions,
)
from tests.factories import StaffFactory
from tests.organisation.factories import RoleFactory, RoleGrantFactory

pytestmark = pytest.mark.django_db

CHANGE = "legal.change_legalpage"


@pytest.fixture
def clerk_role(municipality: Municipality) -> Role:
    return RoleFactory(municipality=municipality, permissions=[CHANGE, "legal.view_legalpage"])


def _fresh(user: object) -> object:
    """The user as the next request loads it (no cached permissions)."""
    return get_user_model().objects.get(pk=user.pk)  # type: ignore[attr-defined]


def test_clerk_of_the_buergerbuero_can_act_there_but_not_in_the_kaemmerei(
    units: dict[str, OrgUnit], municipality: Municipality, clerk_role: Role
) -> None:
    clerk = StaffFactory(municipality=municipality)
    RoleGrantFactory(user=clerk, role=clerk_role, org_unit=units["BB"])
    assert user_can(user=clerk, permission=CHANGE, org_unit=units["BB"]) is True
    assert user_can(user=clerk, permission=CHANGE, org_unit=units["KÄM"]) is False
    assert user_can(user=clerk, permission=CHANGE, org_unit=units["FB 1"]) is False
    assert user_can(user=clerk, permission=CHANGE, org_unit=None) is False
    assert user_can(user=clerk, permission="audit.view_auditevent", org_unit=units["BB"]) is False
    # and through Django's API, with the backend installed
    assert clerk.has_perm(CHANGE, units["BB"]) is True
    assert clerk.has_perm(CHANGE, units["KÄM"]) is False


def test_a_grant_with_subunits_reaches_down_and_without_stays_in_the_unit(
    units: dict[str, OrgUnit], municipality: Municipality, clerk_role: Role
) -> None:
    head = StaffFactory(municipality=municipality)
    RoleGrantFactory(user=head, role=clerk_role, org_unit=units["FB 1"], include_subunits=True)
    only_here = StaffFactory(municipality=municipality)
    RoleGrantFactory(
        user=only_here, role=clerk_role, org_unit=units["FB 1"], include_subunits=False
    )
    assert sorted(user_unit_permissions(head)) == sorted(
        [units["FB 1"].pk, units["BB"].pk, units["STA"].pk]
    )
    assert user_unit_permissions(only_here) == {units["FB 1"].pk: {CHANGE, "legal.view_legalpage"}}
    assert user_can(user=only_here, permission=CHANGE, org_unit=units["BB"]) is False
    assert user_can(user=head, permission=CHANGE, org_unit=units["STA"]) is True
    assert user_can(user=head, permission=CHANGE, org_unit=units["SV"]) is False


def test_municipality_wide_means_a_grant_at_the_root_with_all_subunits(
    units: dict[str, OrgUnit], municipality: Municipality, clerk_role: Role
) -> None:
    everywhere = StaffFactory(municipality=municipality)
    RoleGrantFactory(user=everywhere, role=clerk_role, org_unit=units["SV"])
    root_only = StaffFactory(municipality=municipality)
    RoleGrantFactory(user=root_only, role=clerk_role, org_unit=units["SV"], include_subunits=False)
    assert user_can(user=everywhere, permission=CHANGE, org_unit=None) is True
    assert user_can(user=everywhere, permission=CHANGE, org_unit=units["KASSE"]) is True
    assert user_can(user=root_only, permission=CHANGE, org_unit=None) is False
    assert user_can(user=root_only, permission=CHANGE, org_unit=units["SV"]) is True


@pytest.mark.parametrize(("days", "holds"), [(-1, False), (0, True), (30, True)])
def test_expired_grants_do_not_count(
    units: dict[str, OrgUnit],
    municipality: Municipality,
    clerk_role: Role,
    days: int,
    holds: bool,
) -> None:
    clerk = StaffFactory(municipality=municipality)
    RoleGrantFactory(
        user=clerk,
        role=clerk_role,
        org_unit=units["BB"],
        valid_until=timezone.localdate() + datetime.timedelta(days=days),
    )
    assert user_can(user=clerk, permission=CHANGE, org_unit=units["BB"]) is holds
    assert clerk.has_perm(CHANGE) is holds


def test_inactive_account_holds_nothing(
    units: dict[str, OrgUnit], municipality: Municipality, clerk_role: Role
) -> None:
    clerk = StaffFactory(municipality=municipality, is_active=False)
    RoleGrantFactory(user=clerk, role=clerk_role, org_unit=units["BB"])
    assert user_can(user=clerk, permission=CHANGE, org_unit=units["BB"]) is False
    assert user_unit_permissions(clerk) == {}
    assert clerk.has_perm(CHANGE) is False
    assert list(units_where(user=clerk, permission=CHANGE)) == []


def test_another_municipalitys_unit_is_always_refused(
    units: dict[str, OrgUnit],
    other_units: dict[str, OrgUnit],
    municipality: Municipality,
    clerk_role: Role,
) -> None:
    clerk = StaffFactory(municipality=municipality)
    RoleGrantFactory(user=clerk, role=clerk_role, org_unit=units["SV"])
    assert user_can(user=clerk, permission=CHANGE, org_unit=other_units["BB"]) is False
    assert clerk.has_perm(CHANGE, other_units["BB"]) is False
    # A superuser of Musterstadt is no superuser of Beispielheim either
    chief = StaffFactory(municipality=municipality, is_superuser=True)
    assert user_can(user=chief, permission=CHANGE, org_unit=units["KÄM"]) is True
    assert user_can(user=chief, permission=CHANGE, org_unit=other_units["KÄM"]) is False


def test_a_foreign_grant_row_gives_nothing(
    units: dict[str, OrgUnit], other_units: dict[str, OrgUnit], municipality: Municipality
) -> None:
    # Given a corrupt row: a Musterstadt clerk granted a Beispielheim role and unit
    clerk = StaffFactory(municipality=municipality)
    foreign_role = RoleFactory(municipality=other_units["BB"].municipality, permissions=[CHANGE])
    RoleGrantFactory(
        user=clerk,
        role=foreign_role,
        org_unit=other_units["BB"],
        municipality=other_units["BB"].municipality,
    )
    assert user_unit_permissions(clerk) == {}
    assert user_can(user=clerk, permission=CHANGE, org_unit=other_units["BB"]) is False


def test_grants_at_inactive_units_are_ignored(
    units: dict[str, OrgUnit], municipality: Municipality, clerk_role: Role
) -> None:
    clerk = StaffFactory(municipality=municipality)
    RoleGrantFactory(user=clerk, role=clerk_role, org_unit=units["STA"])
    OrgUnit.objects.filter(pk=units["STA"].pk).update(is_active=False)
    assert user_unit_permissions(clerk) == {}


def test_permissions_are_computed_once_per_user_object(
    units: dict[str, OrgUnit],
    municipality: Municipality,
    clerk_role: Role,
    django_assert_num_queries: object,
) -> None:
    clerk = StaffFactory(municipality=municipality)
    RoleGrantFactory(user=clerk, role=clerk_role, org_unit=units["FB 1"])
    clerk = _fresh(clerk)
    # grants, role permissions, units below: three queries, then none
    with django_assert_num_queries(3):  # type: ignore[operator]
        assert user_can(user=clerk, permission=CHANGE, org_unit=units["BB"])  # type: ignore[arg-type]
    with django_assert_num_queries(0):  # type: ignore[operator]
        assert user_can(user=clerk, permission=CHANGE, org_unit=units["STA"])  # type: ignore[arg-type]
        assert not user_can(user=clerk, permission=CHANGE, org_unit=units["KÄM"])  # type: ignore[arg-type]
        assert user_can_anywhere(user=clerk, permission=CHANGE)  # type: ignore[arg-type]


def test_units_where_scopes_lists(
    units: dict[str, OrgUnit], municipality: Municipality, clerk_role: Role
) -> None:
    clerk = StaffFactory(municipality=municipality)
    RoleGrantFactory(user=clerk, role=clerk_role, org_unit=units["FB 2"])
    RoleGrantFactory(user=clerk, role=clerk_role, org_unit=units["BB"], include_subunits=False)
    assert sorted(u.code for u in units_where(user=clerk, permission=CHANGE)) == [
        "BB",
        "FB 2",
        "KASSE",
        "KÄM",
    ]
    assert list(units_where(user=clerk, permission="audit.view_auditevent")) == []


class TestBackend:
    def test_without_object_true_if_held_in_any_unit(
        self, units: dict[str, OrgUnit], municipality: Municipality, clerk_role: Role
    ) -> None:
        clerk = StaffFactory(municipality=municipality)
        RoleGrantFactory(user=clerk, role=clerk_role, org_unit=units["BB"])
        assert clerk.has_perm(CHANGE) is True
        assert clerk.has_perm("audit.view_auditevent") is False
        assert clerk.has_module_perms("legal") is True
        assert clerk.has_module_perms("audit") is False
        assert clerk.get_all_permissions() == {CHANGE, "legal.view_legalpage"}
        assert user_can_anywhere(user=clerk, permission=CHANGE) is True

    def test_with_an_object_uses_its_org_unit(
        self, units: dict[str, OrgUnit], municipality: Municipality, clerk_role: Role
    ) -> None:
        clerk = StaffFactory(municipality=municipality)
        grant_in_bb = RoleGrantFactory(user=clerk, role=clerk_role, org_unit=units["BB"])
        # a row of another model that belongs to a unit (RoleGrant has .org_unit)
        row_in_kaem = RoleGrantFactory(role=clerk_role, org_unit=units["KÄM"])
        assert clerk.has_perm(CHANGE, grant_in_bb) is True
        assert clerk.has_perm(CHANGE, row_in_kaem) is False
        assert clerk.get_all_permissions(units["BB"]) == {CHANGE, "legal.view_legalpage"}
        assert clerk.get_all_permissions(units["KÄM"]) == set()

    def test_an_object_without_org_unit_is_refused(
        self, units: dict[str, OrgUnit], municipality: Municipality, clerk_role: Role
    ) -> None:
        clerk = StaffFactory(municipality=municipality)
        RoleGrantFactory(user=clerk, role=clerk_role, org_unit=units["SV"])
        page = LegalPage.objects.filter(municipality=municipality).first()
        assert clerk.has_perm(CHANGE, page) is False

    def test_anonymous_holds_nothing(self, units: dict[str, OrgUnit]) -> None:
        from django.contrib.auth.models import AnonymousUser

        anonymous = AnonymousUser()
        assert anonymous.has_perm(CHANGE) is False
        assert anonymous.has_perm(CHANGE, units["BB"]) is False
        assert user_can(user=anonymous, permission=CHANGE, org_unit=units["BB"]) is False
        assert list(units_where(user=anonymous, permission=CHANGE)) == []


class TestPrivileged:
    def test_privileged_role_is_detected(
        self, units: dict[str, OrgUnit], municipality: Municipality
    ) -> None:
        auditor = StaffFactory(municipality=municipality)
        RoleGrantFactory(
            user=auditor,
            org_unit=units["SV"],
            role=Role.objects.get(municipality=municipality, key="revision"),
        )
        assert user_has_privileged_role(auditor) is True

    def test_plain_and_expired_roles_are_not_privileged(
        self, units: dict[str, OrgUnit], municipality: Municipality, clerk_role: Role
    ) -> None:
        clerk = StaffFactory(municipality=municipality)
        RoleGrantFactory(user=clerk, role=clerk_role, org_unit=units["BB"])
        RoleGrantFactory(
            user=clerk,
            org_unit=units["SV"],
            role=Role.objects.get(municipality=municipality, key="administration"),
            valid_until=timezone.localdate() - datetime.timedelta(days=1),
        )
        assert user_has_privileged_role(clerk) is False
        assert user_has_privileged_role(StaffFactory(municipality=municipality)) is False
