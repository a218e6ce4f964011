"""Back-office pages: tree, unit, grants, roles; hostile input and tenant isolation."""

import pytest
from django.test import Client

from rathaus.audit.models import AuditEvent
from rathaus.core.models import Municipality
from rathaus.organisation import defaults, services
from rathaus.organisation.models import OrgUnit, Role, RoleGrant
from tests.conftest import strong_login
from tests.factories import StaffFactory, UserFactory
from tests.organisation.factories import RoleFactory, RoleGrantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def roles(units: dict[str, OrgUnit], municipality: Municipality) -> dict[str, Role]:
    return {role.key: role for role in Role.objects.filter(municipality=municipality)}


@pytest.fixture
def admin(units: dict[str, OrgUnit], roles: dict[str, Role], municipality: Municipality) -> object:
    user = StaffFactory(
        municipality=municipality,
        email="admin@musterstadt.example",
        first_name="Ada",
        last_name="Admin",
    )
    services.role_grant(
        granted_by=None, user=user, role=roles["administration"], org_unit=units["SV"]
    )
    return user


@pytest.fixture
def finance_manager(units: dict[str, OrgUnit], municipality: Municipality) -> object:
    """Manages units and roles in the Fachbereich Finanzen only."""
    user = StaffFactory(municipality=municipality)
    RoleGrantFactory(
        user=user,
        org_unit=units["FB 2"],
        role=RoleFactory(
            municipality=municipality,
            is_privileged=True,
            permissions=["organisation.manage_units", "organisation.manage_roles"],
        ),
    )
    return user


@pytest.fixture
def clerk(units: dict[str, OrgUnit], municipality: Municipality) -> object:
    return StaffFactory(
        municipality=municipality,
        email="clerk@musterstadt.example",
        first_name="Carla",
        last_name="Clerk",
    )


def _unit_state() -> list[tuple[object, ...]]:
    return list(
        OrgUnit.objects.order_by("pk").values_list("pk", "code", "name_de", "path", "is_active")
    )


class TestAccess:
    def test_anonymous_is_sent_to_login(self, client: Client, units: dict[str, OrgUnit]) -> None:
        response = client.get("/verwaltung/organisation/")
        assert response.status_code == 302
        assert response["Location"] == "/anmelden/?next=/verwaltung/organisation/"

    @pytest.mark.parametrize(
        "url",
        ["/verwaltung/organisation/", "/verwaltung/rollen/", "/verwaltung/rollen/neu/"],
    )
    def test_citizens_are_forbidden(
        self, client: Client, units: dict[str, OrgUnit], municipality: Municipality, url: str
    ) -> None:
        strong_login(client, UserFactory(municipality=municipality))
        assert client.get(url).status_code == 403

    def test_a_session_of_another_municipality_is_anonymous_here(
        self,
        other_client: Client,
        units: dict[str, OrgUnit],
        other_units: dict[str, OrgUnit],
        admin: object,
    ) -> None:
        strong_login(other_client, admin)  # type: ignore[arg-type]
        response = other_client.get("/verwaltung/organisation/")
        assert response.status_code == 302


class TestTree:
    def test_staff_see_the_tree_as_nested_lists(
        self, client: Client, units: dict[str, OrgUnit], clerk: object
    ) -> None:
        strong_login(client, clerk)  # type: ignore[arg-type]
        page = client.get("/verwaltung/organisation/").content.decode()
        assert page.count("<h1>") == 1
        # the root's list, its children's, and those of FB 1 and FB 2
        assert page.count('<ul class="org-tree">') == 4
        assert f'href="/verwaltung/organisation/{units["BB"].pk}/"' in page
        assert "Kämmerei" in page

    def test_tree_page_query_count_does_not_grow_with_units(
        self,
        client: Client,
        units: dict[str, OrgUnit],
        clerk: object,
        municipality: Municipality,
        django_assert_num_queries: object,
    ) -> None:
        strong_login(client, clerk)  # type: ignore[arg-type]
        client.get("/verwaltung/organisation/")  # the host's municipality is cached now
        # session, user, units; the layout's perms lookups (user and group permissions of
        # ModelBackend, then this app's grants: none, so one query); the back office's
        # check for a privileged role (second factor required)
        with django_assert_num_queries(7):  # type: ignore[operator]
            assert client.get("/verwaltung/organisation/").status_code == 200
        for number in range(10):
            services.org_unit_create(
                actor=None,
                municipality=municipality,
                parent=units["BB"],
                code=f"BB.{number}",
                name_de=f"Schalter {number}",
                kind=OrgUnit.Kind.SACHGEBIET,
            )
        with django_assert_num_queries(7):  # type: ignore[operator]
            page = client.get("/verwaltung/organisation/").content.decode()
        assert "Schalter 9" in page

    def test_each_municipality_sees_its_own_tree(
        self,
        client: Client,
        other_client: Client,
        units: dict[str, OrgUnit],
        other_units: dict[str, OrgUnit],
        clerk: object,
        other_municipality: Municipality,
    ) -> None:
        services.org_unit_update(
            actor=None,
            unit=other_units["BB"],
            code="BB",
            name_de="Bürgerservice Beispielheim",
            kind=OrgUnit.Kind.BUERGERBUERO,
        )
        strong_login(client, clerk)  # type: ignore[arg-type]
        assert (
            "Bürgerservice Beispielheim"
            not in client.get("/verwaltung/organisation/").content.decode()
        )
        strong_login(other_client, StaffFactory(municipality=other_municipality))
        assert (
            "Bürgerservice Beispielheim"
            in other_client.get("/verwaltung/organisation/").content.decode()
        )


class TestUnitDetail:
    def test_shows_members_roles_and_inherited_roles(
        self,
        client: Client,
        units: dict[str, OrgUnit],
        roles: dict[str, Role],
        admin: object,
        clerk: object,
    ) -> None:
        services.role_grant(
            granted_by=admin, user=clerk, role=roles["redaktion"], org_unit=units["BB"]
        )  # type: ignore[arg-type]
        strong_login(client, clerk)  # type: ignore[arg-type]
        page = client.get(f"/verwaltung/organisation/{units['BB'].pk}/").content.decode()
        assert "Carla Clerk" in page
        assert "Redaktion" in page
        assert "Ada Admin" in page  # Administration at the root reaches the Bürgerbüro
        # the clerk manages nothing, so sees no actions
        assert "rolle-vergeben" not in page
        assert "entziehen" not in page
        assert "bearbeiten" not in page

    def test_managers_see_their_actions(
        self, client: Client, units: dict[str, OrgUnit], admin: object
    ) -> None:
        strong_login(client, admin)  # type: ignore[arg-type]
        page = client.get(f"/verwaltung/organisation/{units['BB'].pk}/").content.decode()
        for part in ["bearbeiten/", "verschieben/", "neu/", "rolle-vergeben/"]:
            assert f'href="/verwaltung/organisation/{units["BB"].pk}/{part}"' in page

    @pytest.mark.parametrize("unit_id", ["foreign", "999999"])
    def test_unknown_or_foreign_units_are_404(
        self,
        client: Client,
        units: dict[str, OrgUnit],
        other_units: dict[str, OrgUnit],
        admin: object,
        unit_id: str,
    ) -> None:
        strong_login(client, admin)  # type: ignore[arg-type]
        pk = other_units["BB"].pk if unit_id == "foreign" else int(unit_id)
        for suffix in ["", "bearbeiten/", "verschieben/", "neu/", "rolle-vergeben/"]:
            assert client.get(f"/verwaltung/organisation/{pk}/{suffix}").status_code == 404


class TestUnitForms:
    def test_create_subunit(
        self, client: Client, units: dict[str, OrgUnit], admin: object, municipality: Municipality
    ) -> None:
        strong_login(client, admin)  # type: ignore[arg-type]
        response = client.post(
            f"/verwaltung/organisation/{units['FB 3'].pk}/neu/",
            {
                "code": "BRA",
                "name_de": "Baurechtsamt",
                "name_en": "",
                "kind": "amt",
                "email": "",
                "phone": "",
                "location": "Technisches Rathaus",
            },
        )
        unit = OrgUnit.objects.get(municipality=municipality, code="BRA")
        assert response.status_code == 302
        assert response["Location"] == f"/verwaltung/organisation/{unit.pk}/"
        assert (unit.parent, unit.location) == (units["FB 3"], "Technisches Rathaus")
        assert AuditEvent.objects.filter(
            action="organisation.unit.created", target_id=str(unit.pk), actor_id=admin.pk
        ).exists()  # type: ignore[attr-defined]

    @pytest.mark.parametrize(
        ("data", "field"),
        [
            ({"code": "", "name_de": "Amt", "kind": "amt"}, "code"),
            ({"code": "BB", "name_de": "Doppelt", "kind": "amt"}, "code"),
            ({"code": "X<1>", "name_de": "Amt", "kind": "amt"}, "code"),
            ({"code": "X1", "name_de": "A" * 201, "kind": "amt"}, "name_de"),
            ({"code": "X1", "name_de": "Amt", "kind": "ministerium"}, "kind"),
            ({"code": "X1", "name_de": "Amt", "kind": "amt", "email": "kein-mail"}, "email"),
        ],
    )
    def test_invalid_unit_input_is_refused_and_linked(
        self,
        client: Client,
        units: dict[str, OrgUnit],
        admin: object,
        data: dict[str, str],
        field: str,
    ) -> None:
        strong_login(client, admin)  # type: ignore[arg-type]
        before = _unit_state()
        response = client.post(f"/verwaltung/organisation/{units['FB 3'].pk}/neu/", data)
        page = response.content.decode()
        assert response.status_code == 400
        assert f'id="id_{field}_error"' in page
        assert 'aria-invalid="true"' in page
        assert _unit_state() == before

    def test_managers_of_another_fachbereich_are_forbidden(
        self, client: Client, units: dict[str, OrgUnit], finance_manager: object
    ) -> None:
        strong_login(client, finance_manager)  # type: ignore[arg-type]
        before = _unit_state()
        bb = units["BB"]
        assert client.get(f"/verwaltung/organisation/{bb.pk}/bearbeiten/").status_code == 403
        data = {"code": "BB", "name_de": "Gekapert", "kind": "amt", "is_active": "on"}
        assert client.post(f"/verwaltung/organisation/{bb.pk}/bearbeiten/", data).status_code == 403
        assert (
            client.post(f"/verwaltung/organisation/{bb.pk}/neu/", {**data, "code": "N"}).status_code
            == 403
        )
        assert _unit_state() == before
        # while in their own Fachbereich they may edit
        kasse = units["KASSE"]
        response = client.post(
            f"/verwaltung/organisation/{kasse.pk}/bearbeiten/",
            {
                "code": "KASSE",
                "name_de": "Stadtkasse und Vollstreckung",
                "kind": "amt",
                "is_active": "on",
            },
        )
        assert response.status_code == 302
        assert OrgUnit.objects.get(pk=kasse.pk).name_de == "Stadtkasse und Vollstreckung"

    def test_staff_without_manage_units_are_forbidden(
        self, client: Client, units: dict[str, OrgUnit], clerk: object
    ) -> None:
        strong_login(client, clerk)  # type: ignore[arg-type]
        assert (
            client.get(f"/verwaltung/organisation/{units['BB'].pk}/bearbeiten/").status_code == 403
        )


class TestMove:
    def test_move_unit(self, client: Client, units: dict[str, OrgUnit], admin: object) -> None:
        strong_login(client, admin)  # type: ignore[arg-type]
        page = client.get(
            f"/verwaltung/organisation/{units['STA'].pk}/verschieben/"
        ).content.decode()
        assert f'<option value="{units["OB"].pk}">' in page
        response = client.post(
            f"/verwaltung/organisation/{units['STA'].pk}/verschieben/", {"parent": units["OB"].pk}
        )
        assert response.status_code == 302
        assert OrgUnit.objects.get(pk=units["STA"].pk).parent_id == units["OB"].pk

    def test_move_below_own_subunit_is_refused(
        self, client: Client, units: dict[str, OrgUnit], admin: object
    ) -> None:
        strong_login(client, admin)  # type: ignore[arg-type]
        before = _unit_state()
        response = client.post(
            f"/verwaltung/organisation/{units['FB 1'].pk}/verschieben/",
            {"parent": units["BB"].pk},
            HTTP_ACCEPT_LANGUAGE="en",
        )
        assert response.status_code == 400
        assert (
            '<p class="error" id="id_parent_error"><span class="error-label">Error:</span> '
            "A unit cannot be moved below itself or one of its subunits.</p>"
        ) in response.content.decode()
        assert _unit_state() == before

    @pytest.mark.parametrize(
        ("value", "status"), [("abc", 400), ("", 400), (str(2**70), 400), ("-1", 400)]
    )
    def test_malformed_parent_is_400(
        self, client: Client, units: dict[str, OrgUnit], admin: object, value: str, status: int
    ) -> None:
        strong_login(client, admin)  # type: ignore[arg-type]
        before = _unit_state()
        response = client.post(
            f"/verwaltung/organisation/{units['STA'].pk}/verschieben/", {"parent": value}
        )
        assert response.status_code == status
        assert _unit_state() == before

    def test_foreign_or_unmanaged_parent(
        self,
        client: Client,
        units: dict[str, OrgUnit],
        other_units: dict[str, OrgUnit],
        finance_manager: object,
    ) -> None:
        strong_login(client, finance_manager)  # type: ignore[arg-type]
        before = _unit_state()
        url = f"/verwaltung/organisation/{units['KASSE'].pk}/verschieben/"
        assert client.post(url, {"parent": other_units["FB 2"].pk}).status_code == 404
        assert client.post(url, {"parent": units["FB 3"].pk}).status_code == 403
        assert _unit_state() == before


class TestGrantPages:
    def test_admin_grants_a_role(
        self,
        client: Client,
        units: dict[str, OrgUnit],
        roles: dict[str, Role],
        admin: object,
        clerk: object,
    ) -> None:
        strong_login(client, admin)  # type: ignore[arg-type]
        url = f"/verwaltung/organisation/{units['BB'].pk}/rolle-vergeben/"
        page = client.get(url).content.decode()
        assert (
            f'<option value="{clerk.pk}">Carla Clerk (clerk@musterstadt.example)</option>' in page
        )  # type: ignore[attr-defined]
        assert "admin@musterstadt.example" not in page  # nobody grants themselves a role
        response = client.post(
            url,
            {
                "user": clerk.pk,
                "role": roles["redaktion"].pk,
                "include_subunits": "on",
                "valid_until": "2099-12-31",
            },  # type: ignore[attr-defined]
        )
        assert response.status_code == 302
        grant = RoleGrant.objects.get(user=clerk, role=roles["redaktion"])
        assert (
            grant.org_unit,
            grant.include_subunits,
            str(grant.valid_until),
            grant.granted_by,
        ) == (
            units["BB"],
            True,
            "2099-12-31",
            admin,
        )

    @pytest.mark.parametrize("target", ["foreign_user", "citizen", "foreign_role", "missing_user"])
    def test_hostile_ids_are_404(
        self,
        client: Client,
        units: dict[str, OrgUnit],
        other_units: dict[str, OrgUnit],
        roles: dict[str, Role],
        admin: object,
        clerk: object,
        municipality: Municipality,
        other_municipality: Municipality,
        target: str,
    ) -> None:
        data = {"user": clerk.pk, "role": roles["leitung"].pk}  # type: ignore[attr-defined]
        if target == "foreign_user":
            data["user"] = StaffFactory(municipality=other_municipality).pk
        elif target == "citizen":
            data["user"] = UserFactory(municipality=municipality).pk
        elif target == "foreign_role":
            data["role"] = Role.objects.get(municipality=other_municipality, key="leitung").pk
        else:
            data["user"] = 987654
        strong_login(client, admin)  # type: ignore[arg-type]
        before = RoleGrant.objects.count()
        assert (
            client.post(
                f"/verwaltung/organisation/{units['BB'].pk}/rolle-vergeben/", data
            ).status_code
            == 404
        )
        assert RoleGrant.objects.count() == before

    @pytest.mark.parametrize(
        ("data", "field"),
        [
            ({"user": "x", "role": "1"}, "user"),
            ({"user": "1", "role": ""}, "role"),
            ({"user": "1", "role": "1", "valid_until": "31.12.2099x"}, "valid_until"),
            ({"user": "1", "role": "1", "valid_until": "2000-01-01"}, "valid_until"),
        ],
    )
    def test_malformed_grant_input_is_400(
        self,
        client: Client,
        units: dict[str, OrgUnit],
        roles: dict[str, Role],
        admin: object,
        clerk: object,
        data: dict[str, str],
        field: str,
    ) -> None:
        data = {
            key: value.replace("1", str(clerk.pk), 1) if key == "user" and value == "1" else value
            for key, value in data.items()
        }  # type: ignore[attr-defined]
        if data.get("role") == "1":
            data["role"] = str(roles["leitung"].pk)
        strong_login(client, admin)  # type: ignore[arg-type]
        before = RoleGrant.objects.count()
        response = client.post(f"/verwaltung/organisation/{units['BB'].pk}/rolle-vergeben/", data)
        assert response.status_code == 400
        assert f'id="id_{field}_error"' in response.content.decode()
        assert RoleGrant.objects.count() == before

    def test_self_grant_is_403_and_changes_nothing(
        self, client: Client, units: dict[str, OrgUnit], roles: dict[str, Role], admin: object
    ) -> None:
        strong_login(client, admin)  # type: ignore[arg-type]
        before = RoleGrant.objects.count()
        response = client.post(
            f"/verwaltung/organisation/{units['BB'].pk}/rolle-vergeben/",
            {"user": admin.pk, "role": roles["redaktion"].pk},  # type: ignore[attr-defined]
            HTTP_ACCEPT_LANGUAGE="en",
        )
        assert response.status_code == 403
        assert "<li>Nobody can grant a role to themselves.</li>" in response.content.decode()
        assert RoleGrant.objects.count() == before

    def test_staff_of_another_unit_or_without_right_are_403(
        self,
        client: Client,
        units: dict[str, OrgUnit],
        roles: dict[str, Role],
        finance_manager: object,
        clerk: object,
    ) -> None:
        data = {"user": clerk.pk, "role": roles["leitung"].pk}  # type: ignore[attr-defined]
        strong_login(client, finance_manager)  # type: ignore[arg-type]
        assert (
            client.post(
                f"/verwaltung/organisation/{units['BB'].pk}/rolle-vergeben/", data
            ).status_code
            == 403
        )
        strong_login(client, clerk)  # type: ignore[arg-type]
        assert (
            client.get(f"/verwaltung/organisation/{units['BB'].pk}/rolle-vergeben/").status_code
            == 403
        )
        assert RoleGrant.objects.filter(user=clerk).count() == 0

    def test_revoke_after_confirmation(
        self,
        client: Client,
        units: dict[str, OrgUnit],
        roles: dict[str, Role],
        admin: object,
        clerk: object,
    ) -> None:
        grant = services.role_grant(
            granted_by=admin, user=clerk, role=roles["redaktion"], org_unit=units["BB"]
        )  # type: ignore[arg-type]
        strong_login(client, admin)  # type: ignore[arg-type]
        url = f"/verwaltung/organisation/rollenvergaben/{grant.pk}/entziehen/"
        assert "Carla Clerk" in client.get(url).content.decode()
        assert RoleGrant.objects.filter(pk=grant.pk).exists()
        response = client.post(url)
        assert response.status_code == 302
        assert response["Location"] == f"/verwaltung/organisation/{units['BB'].pk}/"
        assert not RoleGrant.objects.filter(pk=grant.pk).exists()

    def test_revoke_foreign_or_out_of_scope_grants(
        self,
        client: Client,
        units: dict[str, OrgUnit],
        other_units: dict[str, OrgUnit],
        roles: dict[str, Role],
        admin: object,
        finance_manager: object,
        clerk: object,
    ) -> None:
        ours = services.role_grant(
            granted_by=admin, user=clerk, role=roles["redaktion"], org_unit=units["BB"]
        )  # type: ignore[arg-type]
        theirs = RoleGrantFactory(org_unit=other_units["BB"])
        strong_login(client, admin)  # type: ignore[arg-type]
        assert (
            client.post(
                f"/verwaltung/organisation/rollenvergaben/{theirs.pk}/entziehen/"
            ).status_code
            == 404
        )
        strong_login(client, finance_manager)  # type: ignore[arg-type]
        assert (
            client.post(f"/verwaltung/organisation/rollenvergaben/{ours.pk}/entziehen/").status_code
            == 403
        )
        assert RoleGrant.objects.filter(pk__in=[ours.pk, theirs.pk]).count() == 2


class TestRolePages:
    def test_role_list_query_count(
        self,
        client: Client,
        units: dict[str, OrgUnit],
        admin: object,
        municipality: Municipality,
        django_assert_num_queries: object,
    ) -> None:
        strong_login(client, admin)  # type: ignore[arg-type]
        client.get("/verwaltung/rollen/")  # the host's municipality is cached now
        # session, user, this app's grants (3) for the gate, ModelBackend (2) for the
        # layout, roles with grant counts, their permissions; the privileged-role check
        with django_assert_num_queries(10):  # type: ignore[operator]
            page = client.get("/verwaltung/rollen/").content.decode()
        assert "Revision" in page
        for _ in range(5):
            RoleFactory(municipality=municipality, permissions=["legal.view_legalpage"])
        with django_assert_num_queries(10):  # type: ignore[operator]
            client.get("/verwaltung/rollen/")

    def test_edit_role_with_checkboxes(
        self, client: Client, units: dict[str, OrgUnit], roles: dict[str, Role], admin: object
    ) -> None:
        strong_login(client, admin)  # type: ignore[arg-type]
        role = roles["leitung"]
        page = client.get(f"/verwaltung/rollen/{role.pk}/").content.decode()
        assert (
            'value="organisation.view_rolegrant" id="perm-organisation-view_rolegrant" checked'
            in page
        )
        assert "<legend>" in page
        response = client.post(
            f"/verwaltung/rollen/{role.pk}/",
            {
                "name_de": "Leitung",
                "name_en": "Head",
                "description": "",
                "permissions": ["legal.view_legalpage"],
            },
        )
        assert response.status_code == 302
        assert services.role_permission_names(role) == ["legal.view_legalpage"]

    @pytest.mark.parametrize(
        "permissions", [["auth.change_user"], ["legal.view_legalpage'><script>"], ["x" * 5000]]
    )
    def test_unknown_permissions_are_400(
        self,
        client: Client,
        units: dict[str, OrgUnit],
        roles: dict[str, Role],
        admin: object,
        permissions: list[str],
    ) -> None:
        strong_login(client, admin)  # type: ignore[arg-type]
        role = roles["leitung"]
        response = client.post(
            f"/verwaltung/rollen/{role.pk}/", {"name_de": "Leitung", "permissions": permissions}
        )
        page = response.content.decode()
        assert response.status_code == 400
        assert 'id="id_permissions_error"' in page
        assert '<li><a href="#id_permissions">' in page
        assert '<fieldset id="id_permissions" aria-describedby="id_permissions_error">' in page
        # Nothing changed: the role keeps its default permissions
        leitung = next(spec for spec in defaults.ROLES if spec.key == "leitung")
        assert services.role_permission_names(role) == sorted(leitung.permissions)

    def test_create_role(
        self, client: Client, units: dict[str, OrgUnit], admin: object, municipality: Municipality
    ) -> None:
        strong_login(client, admin)  # type: ignore[arg-type]
        response = client.post(
            "/verwaltung/rollen/neu/",
            {
                "key": "kasse",
                "name_de": "Kassenaufsicht",
                "permissions": ["organisation.view_orgunit"],
            },
        )
        assert response.status_code == 302
        role = Role.objects.get(municipality=municipality, key="kasse")
        assert services.role_permission_names(role) == ["organisation.view_orgunit"]

    def test_privileged_permission_without_flag_is_400(
        self, client: Client, units: dict[str, OrgUnit], admin: object, municipality: Municipality
    ) -> None:
        strong_login(client, admin)  # type: ignore[arg-type]
        response = client.post(
            "/verwaltung/rollen/neu/",
            {
                "key": "schatten",
                "name_de": "Schatten",
                "permissions": ["organisation.manage_roles"],
            },
        )
        assert response.status_code == 400
        assert 'id="id_is_privileged_error"' in response.content.decode()
        assert not Role.objects.filter(key="schatten").exists()

    def test_foreign_role_is_404_and_unit_scoped_manager_is_403(
        self,
        client: Client,
        units: dict[str, OrgUnit],
        other_units: dict[str, OrgUnit],
        roles: dict[str, Role],
        admin: object,
        finance_manager: object,
        other_municipality: Municipality,
    ) -> None:
        foreign = Role.objects.get(municipality=other_municipality, key="leitung")
        strong_login(client, admin)  # type: ignore[arg-type]
        assert client.get(f"/verwaltung/rollen/{foreign.pk}/").status_code == 404
        assert (
            client.post(f"/verwaltung/rollen/{foreign.pk}/", {"name_de": "Gehackt"}).status_code
            == 404
        )
        strong_login(client, finance_manager)  # type: ignore[arg-type]
        assert client.get("/verwaltung/rollen/").status_code == 200
        assert client.get(f"/verwaltung/rollen/{roles['leitung'].pk}/").status_code == 403
        assert (
            client.post("/verwaltung/rollen/neu/", {"key": "z", "name_de": "Z"}).status_code == 403
        )
        assert Role.objects.get(pk=foreign.pk).name_de == "Leitung"
        assert not Role.objects.filter(key="z").exists()
