"""Municipality settings, branding with kept contrast, and setting up a new tenant."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client

from rathaus.accounts.models import User
from rathaus.audit.models import AuditEvent
from rathaus.core.branding import contrast_ratio
from rathaus.core.models import Municipality
from rathaus.legal.models import LegalPage
from rathaus.organisation.models import OrgUnit, Role, RoleGrant
from rathaus.workflow.models import ProcessDefinition, ProcessVersion
from rathaus.workflow.services import SHIPPED
from tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _form(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "Musterstadt",
        "email": "info@musterstadt.example",
        "phone": "",
        "address": "",
        "primary_colour": "#0b5d1e",
    }
    from rathaus.core.municipal_settings import SPECS

    for spec in SPECS.values():
        data["setting__" + spec.key.replace(".", "__")] = spec.default
    data.update(overrides)
    return data


@pytest.fixture
def admin_client(client: Client, municipality: Municipality) -> Client:
    client.force_login(
        StaffFactory(municipality=municipality, permissions=["core.change_municipality"])
    )
    return client


def test_contrast_ratio_matches_wcag() -> None:
    assert round(contrast_ratio("#000000", "#ffffff"), 1) == 21.0
    assert round(contrast_ratio("#767676", "#ffffff"), 2) == 4.54


def test_colour_and_settings_are_saved_and_served(
    admin_client: Client, municipality: Municipality
) -> None:
    response = admin_client.post(
        "/verwaltung/gemeinde/", _form(**{"setting__idpickup__storage_days": 10})
    )
    assert response.status_code == 302
    municipality.refresh_from_db()
    assert municipality.primary_colour == "#0b5d1e"
    assert municipality.settings["idpickup.storage_days"] == 10
    css = admin_client.get("/branding.css").content.decode()
    assert "--c-primary: #0b5d1e;" in css
    assert AuditEvent.objects.filter(action="core.municipality.updated").exists()


@pytest.mark.parametrize("colour", ["#ffff00", "#7f7f7f", "red", "#12345", "#gggggg"])
def test_colours_without_contrast_are_refused(
    admin_client: Client, municipality: Municipality, colour: str
) -> None:
    response = admin_client.post("/verwaltung/gemeinde/", _form(primary_colour=colour))
    assert response.status_code == 400
    assert 'id="id_primary_colour_error"' in response.content.decode()
    municipality.refresh_from_db()
    assert municipality.primary_colour == "#1a4d80"


@pytest.mark.parametrize("value", [0, 31, -1, "x"])
def test_settings_out_of_range_are_refused(
    admin_client: Client, municipality: Municipality, value: object
) -> None:
    response = admin_client.post(
        "/verwaltung/gemeinde/", _form(**{"setting__idpickup__storage_days": value})
    )
    assert response.status_code == 400
    municipality.refresh_from_db()
    assert "idpickup.storage_days" not in municipality.settings


def test_logo_upload_is_sniffed(admin_client: Client, municipality: Municipality) -> None:
    svg = SimpleUploadedFile("logo.png", b"<svg onload='alert(1)'></svg>", content_type="image/png")
    assert admin_client.post("/verwaltung/gemeinde/", {**_form(), "logo": svg}).status_code == 400
    big = SimpleUploadedFile("logo.png", PNG + b"\x00" * 600_000, content_type="image/png")
    assert admin_client.post("/verwaltung/gemeinde/", {**_form(), "logo": big}).status_code == 400
    good = SimpleUploadedFile("whatever.exe", PNG, content_type="application/octet-stream")
    assert admin_client.post("/verwaltung/gemeinde/", {**_form(), "logo": good}).status_code == 302
    municipality.refresh_from_db()
    assert municipality.logo.name.endswith("musterstadt-logo.png")
    served = admin_client.get("/logo")
    assert served["Content-Type"] == "image/png"
    assert b"".join(served.streaming_content).startswith(b"\x89PNG")  # type: ignore[attr-defined]


def test_only_municipality_admins_may_edit(client: Client, municipality: Municipality) -> None:
    client.force_login(StaffFactory(municipality=municipality))
    assert client.get("/verwaltung/gemeinde/").status_code == 403
    assert client.post("/verwaltung/gemeinde/", _form(primary_colour="#000000")).status_code == 403
    municipality.refresh_from_db()
    assert municipality.primary_colour == "#1a4d80"


def test_admin_of_another_municipality_changes_nothing_here(
    other_client: Client, municipality: Municipality, other_municipality: Municipality
) -> None:
    other_client.force_login(
        StaffFactory(municipality=municipality, permissions=["core.change_municipality"])
    )
    response = other_client.post("/verwaltung/gemeinde/", _form(primary_colour="#000000"))
    assert response.status_code == 302
    assert response["Location"].startswith("/anmelden/")
    other_municipality.refresh_from_db()
    assert other_municipality.primary_colour == "#1a4d80"


def test_each_tenant_gets_its_own_colours(
    client: Client,
    other_client: Client,
    municipality: Municipality,
    other_municipality: Municipality,
) -> None:
    Municipality.objects.filter(pk=other_municipality.pk).update(primary_colour="#5a1a80")
    assert "#1a4d80" in client.get("/branding.css").content.decode()
    assert "#5a1a80" in other_client.get("/branding.css").content.decode()


def test_municipality_command_sets_up_a_tenant(
    db: None, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command(
        "municipality",
        "create",
        "--slug",
        "ludwigsburg",
        "--name",
        "Ludwigsburg",
        "--ags",
        "08118048",
        "--state",
        "BW",
        "--domain",
        "www.ludwigsburg.example",
    )
    town = Municipality.objects.get(slug="ludwigsburg")
    assert sorted(LegalPage.objects.filter(municipality=town).values_list("kind", flat=True)) == [
        "accessibility",
        "imprint",
        "privacy",
    ]
    assert list(town.domains.values_list("hostname", flat=True)) == ["www.ludwigsburg.example"]
    # The default organisation and the shipped process models are there
    assert Role.objects.filter(municipality=town, key="sachbearbeitung").exists()
    assert OrgUnit.objects.filter(municipality=town, parent=None).count() == 1
    assert set(
        ProcessDefinition.objects.filter(municipality=town).values_list("key", flat=True)
    ) == set(SHIPPED)
    units, versions = OrgUnit.objects.count(), ProcessVersion.objects.count()
    # Rerunning is harmless
    call_command(
        "municipality",
        "create",
        "--slug",
        "ludwigsburg",
        "--name",
        "X",
        "--ags",
        "08118048",
        "--state",
        "BW",
    )
    assert Municipality.objects.get(slug="ludwigsburg").name == "Ludwigsburg"
    assert (OrgUnit.objects.count(), ProcessVersion.objects.count()) == (units, versions)
    with pytest.raises(CommandError, match="ags"):
        call_command(
            "municipality",
            "create",
            "--slug",
            "bad",
            "--name",
            "Bad",
            "--ags",
            "99",
            "--state",
            "BW",
        )
    call_command("municipality", "list")
    assert "ludwigsburg" in capsys.readouterr().out


def test_municipality_command_creates_the_first_administrator(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["municipality", "create", "--slug", "ludwigsburg", "--name", "Ludwigsburg"]
    args += ["--ags", "08118048", "--state", "BW", "--admin-email", "it@ludwigsburg.example"]
    # A weak password is refused and nothing is half made
    monkeypatch.setenv("RATHAUS_ADMIN_PASSWORD", "1234")
    with pytest.raises(CommandError, match="password"):
        call_command(*args)
    assert not Municipality.objects.filter(slug="ludwigsburg").exists()
    monkeypatch.setenv("RATHAUS_ADMIN_PASSWORD", "a long admin passphrase 2026")
    call_command(*args, "--admin-first-name", "Ida", "--admin-last-name", "Admin")
    town = Municipality.objects.get(slug="ludwigsburg")
    admin = User.objects.get(municipality=town, email="it@ludwigsburg.example")
    assert admin.is_staff
    assert admin.check_password("a long admin passphrase 2026")
    granted = RoleGrant.objects.filter(user=admin, org_unit__parent=None)
    assert sorted(granted.values_list("role__key", flat=True)) == ["administration", "revision"]
    # Rerunning keeps the password and adds no second grant
    monkeypatch.setenv("RATHAUS_ADMIN_PASSWORD", "another long passphrase 2026")
    call_command(*args)
    admin.refresh_from_db()
    assert admin.check_password("a long admin passphrase 2026")
    assert RoleGrant.objects.filter(user=admin).count() == 2


def test_a_citizen_account_is_not_made_an_administrator(
    municipality: Municipality, monkeypatch: pytest.MonkeyPatch
) -> None:
    citizen = UserFactory(municipality=municipality)
    monkeypatch.setenv("RATHAUS_ADMIN_PASSWORD", "a long admin passphrase 2026")
    with pytest.raises(CommandError, match="citizen account"):
        call_command(
            "municipality",
            "create",
            "--slug",
            municipality.slug,
            "--name",
            "X",
            "--ags",
            municipality.ags,
            "--state",
            "BW",
            "--admin-email",
            citizen.email,
        )
    assert not RoleGrant.objects.filter(user=citizen).exists()
