"""The apps' long-running processes are chosen explicitly; a typo is an error, not a gap."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from rathaus.core import daemons
from rathaus.core.daemons import Daemon, daemons_select


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(daemons, "_REGISTRY", {})
    daemons.register(Daemon("mqtt", ("parking", "ingest"), "MQTT ingester", default=False))
    daemons.register(Daemon("smtp", ("einvoice", "smtp"), "SMTP receiver", default=True))


@pytest.mark.usefixtures("registry")
def test_auto_selects_the_defaults_only() -> None:
    assert [daemon.name for daemon in daemons_select("auto")] == ["smtp"]
    assert [daemon.name for daemon in daemons_select("")] == ["smtp"]


@pytest.mark.usefixtures("registry")
def test_none_all_and_lists() -> None:
    assert daemons_select("none") == []
    assert [daemon.name for daemon in daemons_select("all")] == ["mqtt", "smtp"]
    assert [daemon.name for daemon in daemons_select(" smtp , mqtt,smtp")] == ["smtp", "mqtt"]


@pytest.mark.usefixtures("registry")
def test_unknown_names_are_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown daemon\(s\) ocp; known: mqtt, smtp"):
        daemons_select("ocp,smtp")


@pytest.mark.usefixtures("registry")
def test_registering_another_daemon_under_a_known_name_fails() -> None:
    daemons.register(Daemon("mqtt", ("parking", "ingest"), "MQTT ingester", default=False))
    with pytest.raises(ValueError, match="already registered"):
        daemons.register(Daemon("mqtt", ("traffic", "ingest"), "other", default=False))


@pytest.mark.usefixtures("registry")
def test_serve_refuses_an_unknown_daemon_before_starting_anything() -> None:
    with pytest.raises(CommandError, match="unknown daemon"):
        call_command("serve", "--daemons", "nope", "--no-collectstatic")
