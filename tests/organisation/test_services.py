"""Granting, revoking and editing roles: who may do what, and the audit trail of it."""

import datetime
import logging
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone, translation

from rathaus.audit.models import AuditEvent
from rathaus.core.errors import PermissionDenied, ValidationFailed
from rathaus.core.models import Municipality
from rathaus.organisation import defaults, services
from rathaus.organisation.models import OrgUnit, Role, RoleGrant
from rathaus.organisation.permissions import user_can
from tests.factories import StaffFactory, UserFactory
from tests.organisation.factories import RoleFactory, RoleGrantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Messages are compared in English, whatever an earlier request activated."""
    with translation.override("en"):
        yield


CHANGE = "legal.change_legalpage"


@pytest.fixture
def roles(units: dict[str, OrgUnit], municipality: Municipality) -> dict[str, Role]:
    return {role.key: role for role in Role.objects.filter(municipality=municipality)}


@pytest.fixture
def admin(units: dict[str, OrgUnit], roles: dict[str, Role], municipality: Municipality) -> object:
    """The municipality's administrator: Administration at the root, for all units."""
    user = StaffFactory(municipality=municipality, email="admin@musterstadt.example")
    services.role_grant(
        granted_by=None, user=user, role=roles["administration"], org_unit=units["SV"]
    )
    return user


def _grant(**kwargs: object) -> RoleGrant:
    return services.role_grant(**kwargs)  # type: ignore[arg-type]


class TestGrant:
    def test_admin_grants_a_role_and_it_is_audited(
        self,
        units: dict[str, OrgUnit],
        roles: dict[str, Role],
        admin: object,
        municipality: Municipality,
    ) -> None:
        clerk = StaffFactory(municipality=municipality, email="clerk@musterstadt.example")
        until = timezone.localdate() + datetime.timedelta(days=90)
        grant = _grant(
            granted_by=admin,
            user=clerk,
            role=roles["redaktion"],
            org_unit=units["BB"],
            include_subunits=False,
            valid_until=until,
        )
        assert (grant.user, grant.role, grant.org_unit, grant.granted_by) == (
            clerk,
            roles["redaktion"],
            units["BB"],
            admin,
        )
        assert user_can(user=clerk, permission=CHANGE, org_unit=units["BB"]) is True
        event = AuditEvent.objects.filter(action="organisation.role.granted").last()
        assert event is not None
        assert (event.actor_id, event.target_type, event.target_id) == (
            admin.pk,  # type: ignore[attr-defined]
            "organisation.rolegrant",
            str(grant.pk),
        )
        assert event.data == {
            "user_id": clerk.pk,
            "user": "clerk@musterstadt.example",
            "role": "redaktion",
            "org_unit": "BB",
            "include_subunits": False,
            "valid_until": until.isoformat(),
            "privileged": False,
            "renewed": False,
        }

    def test_nobody_grants_themselves_a_role(
        self, units: dict[str, OrgUnit], roles: dict[str, Role], admin: object
    ) -> None:
        with pytest.raises(PermissionDenied):
            _grant(granted_by=admin, user=admin, role=roles["redaktion"], org_unit=units["BB"])
        assert RoleGrant.objects.filter(user=admin, role=roles["redaktion"]).count() == 0

    def test_granting_needs_manage_roles_over_the_whole_scope(
        self, units: dict[str, OrgUnit], roles: dict[str, Role], municipality: Municipality
    ) -> None:
        # Given someone who manages roles in the Fachbereich Finanzen only (not privileged
        # here, to look at the scope rule alone)
        manager = StaffFactory(municipality=municipality)
        RoleGrantFactory(
            user=manager,
            org_unit=units["FB 2"],
            role=RoleFactory(municipality=municipality, permissions=["organisation.manage_roles"]),
        )
        clerk = StaffFactory(municipality=municipality)
        # When they grant in the Bürgerbüro, then it is refused
        with pytest.raises(PermissionDenied):
            _grant(granted_by=manager, user=clerk, role=roles["leitung"], org_unit=units["BB"])
        # And in the Kämmerei, below their unit, it works
        _grant(granted_by=manager, user=clerk, role=roles["leitung"], org_unit=units["KÄM"])
        assert list(
            RoleGrant.objects.filter(user=clerk).values_list("org_unit__code", flat=True)
        ) == ["KÄM"]

    def test_a_unit_only_manager_cannot_grant_for_subunits(
        self, units: dict[str, OrgUnit], roles: dict[str, Role], municipality: Municipality
    ) -> None:
        manager = StaffFactory(municipality=municipality)
        RoleGrantFactory(
            user=manager,
            org_unit=units["FB 2"],
            include_subunits=False,
            role=RoleFactory(municipality=municipality, permissions=["organisation.manage_roles"]),
        )
        clerk = StaffFactory(municipality=municipality)
        with pytest.raises(PermissionDenied):
            _grant(granted_by=manager, user=clerk, role=roles["leitung"], org_unit=units["FB 2"])
        grant = _grant(
            granted_by=manager,
            user=clerk,
            role=roles["leitung"],
            org_unit=units["FB 2"],
            include_subunits=False,
        )
        assert grant.include_subunits is False

    def test_privileged_roles_need_their_permissions_in_the_granter(
        self,
        units: dict[str, OrgUnit],
        roles: dict[str, Role],
        admin: object,
        municipality: Municipality,
    ) -> None:
        # Given an administrator who is no auditor
        colleague = StaffFactory(municipality=municipality)
        # When they make a colleague auditor, then it is refused
        with pytest.raises(PermissionDenied):
            _grant(granted_by=admin, user=colleague, role=roles["revision"], org_unit=units["SV"])
        # But a second administrator they can make (they hold its permissions)
        _grant(
            granted_by=admin, user=colleague, role=roles["administration"], org_unit=units["FB 1"]
        )
        # And a superuser may make an auditor
        chief = StaffFactory(municipality=municipality, is_superuser=True)
        _grant(granted_by=chief, user=colleague, role=roles["revision"], org_unit=units["SV"])
        assert sorted(
            RoleGrant.objects.filter(user=colleague).values_list("role__key", flat=True)
        ) == [
            "administration",
            "revision",
        ]

    def test_without_manage_roles_nothing_is_granted(
        self, units: dict[str, OrgUnit], roles: dict[str, Role], municipality: Municipality
    ) -> None:
        clerk = StaffFactory(municipality=municipality)
        other = StaffFactory(municipality=municipality)
        with pytest.raises(PermissionDenied):
            _grant(granted_by=clerk, user=other, role=roles["leitung"], org_unit=units["BB"])
        assert RoleGrant.objects.filter(user=other).count() == 0

    def test_user_role_and_unit_must_share_the_municipality(
        self,
        units: dict[str, OrgUnit],
        other_units: dict[str, OrgUnit],
        roles: dict[str, Role],
        admin: object,
        municipality: Municipality,
        other_municipality: Municipality,
    ) -> None:
        ours = StaffFactory(municipality=municipality)
        theirs = StaffFactory(municipality=other_municipality)
        their_role = Role.objects.get(municipality=other_municipality, key="leitung")
        cases = [
            {"user": theirs, "role": roles["leitung"], "org_unit": units["BB"]},
            {"user": ours, "role": their_role, "org_unit": units["BB"]},
            {"user": ours, "role": roles["leitung"], "org_unit": other_units["BB"]},
        ]
        for case in cases:
            with pytest.raises(ValidationFailed) as caught:
                _grant(granted_by=admin, **case)
            assert caught.value.code == "cross_tenant"
        assert RoleGrant.objects.filter(user__in=[ours, theirs]).count() == 0

    @pytest.mark.parametrize("who", ["citizen", "inactive"])
    def test_only_active_staff_receive_roles(
        self,
        units: dict[str, OrgUnit],
        roles: dict[str, Role],
        admin: object,
        municipality: Municipality,
        who: str,
    ) -> None:
        user = (
            UserFactory(municipality=municipality)
            if who == "citizen"
            else StaffFactory(municipality=municipality, is_active=False)
        )
        with pytest.raises(ValidationFailed) as caught:
            _grant(granted_by=admin, user=user, role=roles["leitung"], org_unit=units["BB"])
        assert list(caught.value.fields) == ["user"]

    def test_past_end_dates_and_inactive_units_are_refused(
        self,
        units: dict[str, OrgUnit],
        roles: dict[str, Role],
        admin: object,
        municipality: Municipality,
    ) -> None:
        clerk = StaffFactory(municipality=municipality)
        with pytest.raises(ValidationFailed) as caught:
            _grant(
                granted_by=admin,
                user=clerk,
                role=roles["leitung"],
                org_unit=units["BB"],
                valid_until=timezone.localdate() - datetime.timedelta(days=1),
            )
        assert list(caught.value.fields) == ["valid_until"]
        OrgUnit.objects.filter(pk=units["STA"].pk).update(is_active=False)
        units["STA"].refresh_from_db()
        with pytest.raises(ValidationFailed):
            _grant(granted_by=admin, user=clerk, role=roles["leitung"], org_unit=units["STA"])
        assert RoleGrant.objects.filter(user=clerk).count() == 0

    def test_granting_again_renews_the_grant(
        self,
        units: dict[str, OrgUnit],
        roles: dict[str, Role],
        admin: object,
        municipality: Municipality,
    ) -> None:
        clerk = StaffFactory(municipality=municipality)
        first = _grant(
            granted_by=admin,
            user=clerk,
            role=roles["leitung"],
            org_unit=units["BB"],
            valid_until=timezone.localdate(),
        )
        second = _grant(granted_by=admin, user=clerk, role=roles["leitung"], org_unit=units["BB"])
        assert second.pk == first.pk
        assert RoleGrant.objects.get(pk=first.pk).valid_until is None
        last = AuditEvent.objects.filter(action="organisation.role.granted").last()
        assert last is not None
        assert last.data["renewed"] is True


class TestRevoke:
    def test_revoke_removes_the_grant_and_is_audited(
        self,
        units: dict[str, OrgUnit],
        roles: dict[str, Role],
        admin: object,
        municipality: Municipality,
    ) -> None:
        clerk = StaffFactory(municipality=municipality)
        grant = _grant(granted_by=admin, user=clerk, role=roles["redaktion"], org_unit=units["BB"])
        services.role_revoke(revoked_by=admin, grant=grant)  # type: ignore[arg-type]
        assert not RoleGrant.objects.filter(pk=grant.pk).exists()
        event = AuditEvent.objects.get(action="organisation.role.revoked")
        assert (event.actor_id, event.target_type, event.target_id) == (
            admin.pk,  # type: ignore[attr-defined]
            "organisation.rolegrant",
            str(grant.pk),
        )
        assert event.data == {
            "user_id": clerk.pk,
            "role": "redaktion",
            "org_unit": "BB",
            "include_subunits": True,
            "privileged": False,
        }
        clerk.refresh_from_db()
        assert user_can(user=clerk, permission=CHANGE, org_unit=units["BB"]) is False

    def test_revoking_needs_the_same_rights_as_granting(
        self,
        units: dict[str, OrgUnit],
        roles: dict[str, Role],
        admin: object,
        municipality: Municipality,
    ) -> None:
        # Given an auditor made by the system, and a Finanzen-only manager
        auditor = StaffFactory(municipality=municipality)
        audit_grant = _grant(
            granted_by=None, user=auditor, role=roles["revision"], org_unit=units["SV"]
        )
        manager = StaffFactory(municipality=municipality)
        RoleGrantFactory(
            user=manager,
            org_unit=units["FB 2"],
            role=RoleFactory(municipality=municipality, permissions=["organisation.manage_roles"]),
        )
        # Then neither the administrator (no auditor) nor the manager can remove the auditor
        for who in [admin, manager]:
            with pytest.raises(PermissionDenied):
                services.role_revoke(revoked_by=who, grant=audit_grant)  # type: ignore[arg-type]
        assert RoleGrant.objects.filter(pk=audit_grant.pk).exists()
        assert not AuditEvent.objects.filter(action="organisation.role.revoked").exists()


class TestRoles:
    def test_role_is_created_from_dotted_names_and_audited(
        self, units: dict[str, OrgUnit], admin: object, municipality: Municipality
    ) -> None:
        role = services.role_create(
            actor=admin,  # type: ignore[arg-type]
            municipality=municipality,
            key="standesbeamte",
            name_de="Standesbeamtin/Standesbeamter",
            permissions=["legal.view_legalpage", "organisation.view_orgunit"],
        )
        assert services.role_permission_names(role) == [
            "legal.view_legalpage",
            "organisation.view_orgunit",
        ]
        event = AuditEvent.objects.get(action="organisation.role.created", target_id=str(role.pk))
        assert event.actor_id == admin.pk  # type: ignore[attr-defined]
        assert event.data == {
            "key": "standesbeamte",
            "permissions": ["legal.view_legalpage", "organisation.view_orgunit"],
            "is_privileged": False,
        }

    @pytest.mark.parametrize(
        "permissions", [["legal.nope"], ["auth.change_user"], ["no-dot"], ["sessions.x.y"]]
    )
    def test_unknown_or_foreign_permissions_are_refused(
        self,
        units: dict[str, OrgUnit],
        admin: object,
        municipality: Municipality,
        permissions: list[str],
    ) -> None:
        with pytest.raises(ValidationFailed) as caught:
            services.role_create(
                actor=admin,  # type: ignore[arg-type]
                municipality=municipality,
                key="x",
                name_de="X",
                permissions=permissions,
            )
        assert list(caught.value.fields) == ["permissions"]
        assert not Role.objects.filter(key="x").exists()

    def test_roles_that_manage_rights_must_be_privileged(
        self, units: dict[str, OrgUnit], admin: object, municipality: Municipality
    ) -> None:
        with pytest.raises(ValidationFailed) as caught:
            services.role_create(
                actor=admin,  # type: ignore[arg-type]
                municipality=municipality,
                key="stille-admins",
                name_de="Stille Admins",
                permissions=["organisation.manage_roles"],
                is_privileged=False,
            )
        assert list(caught.value.fields) == ["is_privileged"]

    def test_nobody_raises_a_privileged_role_above_what_they_hold(
        self, units: dict[str, OrgUnit], roles: dict[str, Role], admin: object
    ) -> None:
        role = roles["administration"]
        before = services.role_permission_names(role)
        with pytest.raises(PermissionDenied):
            services.role_update(
                actor=admin,  # type: ignore[arg-type]
                role=role,
                name_de=role.name_de,
                name_en=role.name_en,
                description=role.description,
                permissions=[
                    *services.role_permission_names(role),
                    "audit.export_auditevent",
                ],
                is_privileged=True,
            )
        assert services.role_permission_names(role) == before

    def test_role_management_needs_manage_roles_for_the_whole_municipality(
        self,
        units: dict[str, OrgUnit],
        other_units: dict[str, OrgUnit],
        admin: object,
        municipality: Municipality,
        other_municipality: Municipality,
    ) -> None:
        # A manager of one Fachbereich cannot define roles
        manager = StaffFactory(municipality=municipality)
        RoleGrantFactory(
            user=manager,
            org_unit=units["FB 2"],
            role=RoleFactory(municipality=municipality, permissions=["organisation.manage_roles"]),
        )
        with pytest.raises(PermissionDenied):
            services.role_create(
                actor=manager,  # type: ignore[arg-type]
                municipality=municipality,
                key="a",
                name_de="A",
                permissions=[],
            )
        # And Musterstadt's administrator cannot define roles in Beispielheim
        with pytest.raises(PermissionDenied):
            services.role_create(
                actor=admin,  # type: ignore[arg-type]
                municipality=other_municipality,
                key="a",
                name_de="A",
                permissions=[],
            )
        assert not Role.objects.filter(key="a").exists()

    def test_update_is_audited_with_added_and_removed_permissions(
        self, units: dict[str, OrgUnit], roles: dict[str, Role], admin: object
    ) -> None:
        role = roles["leitung"]
        leitung = next(spec for spec in defaults.ROLES if spec.key == "leitung")
        services.role_update(
            actor=admin,  # type: ignore[arg-type]
            role=role,
            name_de="Amtsleitung",
            name_en=role.name_en,
            description=role.description,
            permissions=["organisation.view_orgunit", "legal.view_legalpage"],
        )
        event = AuditEvent.objects.get(action="organisation.role.updated", target_id=str(role.pk))
        assert event.data == {
            "key": "leitung",
            "changes": {"name_de": ["Leitung", "Amtsleitung"]},
            "permissions_added": ["legal.view_legalpage"],
            "permissions_removed": sorted({*leitung.permissions} - {"organisation.view_orgunit"}),
        }


class TestDefaults:
    def test_defaults_are_created_once_and_audited(
        self, units: dict[str, OrgUnit], municipality: Municipality
    ) -> None:
        assert sorted(units) == sorted(spec.code for spec in defaults.UNITS)
        assert units["BB"].kind == OrgUnit.Kind.BUERGERBUERO
        assert units["OB"].kind == OrgUnit.Kind.STABSSTELLE
        roles = {r.key: r for r in Role.objects.filter(municipality=municipality)}
        assert sorted(roles) == sorted(spec.key for spec in defaults.ROLES)
        assert {"administration", "leitung", "redaktion", "revision", "sachbearbeitung"} <= set(
            roles
        )
        assert services.role_permission_names(roles["revision"]) == [
            "audit.export_auditevent",
            "audit.view_auditevent",
        ]
        assert roles["revision"].is_privileged
        assert roles["administration"].is_privileged
        assert not roles["redaktion"].is_privileged
        created = AuditEvent.objects.filter(
            municipality=municipality, action__startswith="organisation."
        )
        assert created.filter(action="organisation.unit.created").count() == len(defaults.UNITS)
        assert created.filter(action="organisation.role.created").count() == len(defaults.ROLES)
        before = (OrgUnit.objects.count(), Role.objects.count(), AuditEvent.objects.count())
        # When run again, nothing changes
        again = services.organisation_defaults_ensure(municipality=municipality)
        assert {code: unit.pk for code, unit in again.items()} == {
            code: unit.pk for code, unit in units.items()
        }
        assert (OrgUnit.objects.count(), Role.objects.count(), AuditEvent.objects.count()) == before

    def test_missing_permissions_are_skipped_with_a_warning_and_added_later(
        self,
        municipality: Municipality,
        monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        # Given a default role naming a permission of an app that is not installed yet
        spec = defaults.RoleSpec(
            "kasse", "Kasse", "Cash office", "", ("legal.view_legalpage", "payments.refund_payment")
        )
        monkeypatch.setattr(defaults, "ROLES", (spec,))
        with caplog.at_level(logging.WARNING, logger="rathaus.organisation.services"):
            services.organisation_defaults_ensure(municipality=municipality)
        role = Role.objects.get(municipality=municipality, key="kasse")
        assert services.role_permission_names(role) == ["legal.view_legalpage"]
        assert "payments.refund_payment" in caplog.text
        # When the permission exists later (here: a role lost one it should have), a rerun adds it
        role.permissions.clear()
        services.organisation_defaults_ensure(municipality=municipality)
        assert services.role_permission_names(role) == ["legal.view_legalpage"]
        event = AuditEvent.objects.get(action="organisation.role.updated", target_id=str(role.pk))
        assert event.actor_id is None
        assert event.data["permissions_added"] == ["legal.view_legalpage"]

    def test_an_existing_root_is_kept(self, municipality: Municipality) -> None:
        own_root = services.org_unit_create(
            actor=None,
            municipality=municipality,
            parent=None,
            code="VW",
            name_de="Gemeindeverwaltung",
            kind=OrgUnit.Kind.ADMINISTRATION,
        )
        units = services.organisation_defaults_ensure(municipality=municipality)
        assert units["SV"] == own_root
        assert units["FB 1"].parent == own_root
        assert OrgUnit.objects.filter(municipality=municipality, parent__isnull=True).count() == 1


def test_permissions_of_units_exist() -> None:
    assert set(
        Permission.objects.filter(content_type__app_label="organisation").values_list(
            "codename", flat=True
        )
    ) >= {"manage_units", "manage_roles", "view_orgunit", "view_rolegrant"}
