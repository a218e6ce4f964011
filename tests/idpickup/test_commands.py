"""The management command: registering a terminal and the simulator speaking HTTP to a
live server; and the demo data."""

import json
import re
from io import StringIO
from typing import Any

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

from rathaus.accounts.models import User
from rathaus.core.models import Municipality
from rathaus.idpickup.demo import DEMO_CARDS, idpickup_demo_load
from rathaus.idpickup.models import IdOrder, StaffCredential, Terminal
from rathaus.organisation.services import organisation_defaults_ensure
from tests.factories import StaffFactory, UserFactory
from tests.idpickup.conftest import STAFF


def _simulate(base: str, terminal: Terminal, key: str, *args: str) -> dict[str, Any]:
    out = StringIO()
    call_command(
        "idpickup",
        "simulate",
        "--base-url",
        base,
        "--device-id",
        terminal.device_id,
        "--key",
        key,
        *args,
        stdout=out,
    )
    return json.loads(out.getvalue())


@pytest.mark.django_db(transaction=True)
def test_simulator_command_speaks_http_to_a_live_server(
    live_server: Any, terminal_with_key: Any, make_order: Any, alice: User, bob: User
) -> None:
    terminal, key = terminal_with_key
    base = live_server.url
    assert _simulate(base, terminal, key, "heartbeat")["status"] == 200
    order = make_order()
    staff = [arg for card, pin in STAFF for arg in ("--staff", f"{card}:{pin}")]
    loaded = _simulate(base, terminal, key, "load", *staff, "--barcode", order.document_barcode)
    assert loaded["body"]["outcome"] == "loaded"
    pin = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)  # type: ignore[union-attr]
    picked = _simulate(base, terminal, key, "pickup", "--pin", pin)
    assert picked["body"]["outcome"] == "picked_up"
    order.refresh_from_db()
    assert order.status == IdOrder.Status.PICKED_UP
    with pytest.raises(CommandError, match="pin_invalid"):
        _simulate(base, terminal, key, "pickup", "--pin", pin)
    with pytest.raises(CommandError, match="device_auth_failed"):
        _simulate(base, terminal, "0" * 64, "heartbeat")


@pytest.mark.django_db
def test_register_terminal_command(municipality: Municipality, location: Any) -> None:
    out = StringIO()
    call_command(
        "idpickup",
        "register-terminal",
        "--municipality",
        "musterstadt",
        "--location",
        str(location.pk),
        "--name",
        "Seiteneingang",
        "--compartments",
        "s:40,m:120",
        stdout=out,
    )
    terminal = Terminal.objects.get(name="Seiteneingang")
    assert terminal.device_id in out.getvalue()
    assert terminal.compartments.count() == 2
    with pytest.raises(CommandError):
        call_command(
            "idpickup",
            "register-terminal",
            "--municipality",
            "nowhere",
            "--location",
            str(location.pk),
            "--name",
            "X",
        )
    with pytest.raises(CommandError):
        call_command(
            "idpickup",
            "register-terminal",
            "--municipality",
            "musterstadt",
            "--location",
            str(location.pk),
            "--name",
            "Y",
            "--compartments",
            "s:x",
        )


@pytest.mark.django_db
def test_demo_is_idempotent_and_usable(municipality: Municipality, location: Any) -> None:
    organisation_defaults_ensure(municipality=municipality)
    for local in DEMO_CARDS:
        StaffFactory(municipality=municipality, email=f"{local}@musterstadt.example")
    UserFactory(municipality=municipality, email="buerger@musterstadt.example")
    idpickup_demo_load(municipality=municipality)
    idpickup_demo_load(municipality=municipality)
    assert Terminal.objects.filter(municipality=municipality).count() == 1
    assert StaffCredential.objects.count() == 2
    assert IdOrder.objects.count() == 4
    assert IdOrder.objects.filter(status=IdOrder.Status.ARRIVED).count() == 2
    assert IdOrder.objects.filter(citizen__email="buerger@musterstadt.example").count() == 1
    for user in User.objects.filter(is_staff=True):
        assert user.has_perm("idpickup.operate_terminal")
