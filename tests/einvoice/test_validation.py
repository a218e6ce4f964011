"""The validation engine against the official test suite and against broken invoices.

The verdicts for the official instances are the KoSIT validator's (all accepted); the
rule ids of the broken variants are those the official Schematron reports.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rathaus.einvoice import engine
from rathaus.einvoice.kosit import ArtefactError, Validator
from rathaus.einvoice.kosit.artefacts import KNOWN_RELEASES, Release, release_unpacked
from rathaus.einvoice.kosit.validator import svrl_level
from tests.einvoice.conftest import CII, SHARED, TAX_EXCLUSIVE, UBL, suite_files, ubl_with


@pytest.fixture(scope="session")
def validator() -> Validator:
    # One validator for the session: the stylesheets compile once.
    return engine.validator()


def test_the_suite_has_86_instances() -> None:
    assert len(suite_files()) == 86


def test_every_official_instance_is_accepted(validator: Validator) -> None:
    results = {path.name: validator.validate(path.read_bytes()) for path in suite_files()}
    rejected = {name: r.errors for name, r in results.items() if not r.accepted}
    assert rejected == {}
    scenarios = {r.scenario for r in results.values()}
    assert "EN16931 XRechnung (UBL Invoice)" in scenarios
    assert "EN16931 XRechnung (CII)" in scenarios
    assert "EN16931 XRechnung Extension (UBL Invoice)" in scenarios
    assert "EN16931 XRechnung CVD (CII)" in scenarios


def test_missing_buyer_reference_is_br_de_15(validator: Validator) -> None:
    data = ubl_with({"<cbc:BuyerReference>04011000-12345-03</cbc:BuyerReference>": ""})
    result = validator.validate(data)
    assert not result.accepted
    assert "BR-DE-15" in result.errors


def test_wrong_total_is_br_co_rule(validator: Validator) -> None:
    data = ubl_with({TAX_EXCLUSIVE: TAX_EXCLUSIVE.replace("314.86", "314.87")})
    result = validator.validate(data)
    assert not result.accepted
    assert "BR-CO-13" in result.errors
    assert result.scenario == "EN16931 XRechnung (UBL Invoice)"


def test_schema_error_stops_before_schematron(validator: Validator) -> None:
    data = ubl_with({"<cbc:IssueDate>": "<cbc:Unknown>x</cbc:Unknown><cbc:IssueDate>"})
    result = validator.validate(data)
    assert not result.accepted
    assert set(result.errors) == {"XSD"}
    assert all(m.step == "xsd" for m in result.messages)


def test_custom_level_turns_error_into_warning(validator: Validator) -> None:
    # BR-CL-23 (unit code list) is fatal in CEN, a warning in the XRechnung scenario.
    data = ubl_with({'unitCode="XPP"': 'unitCode="ZZZX"'})
    result = validator.validate(data)
    assert "BR-CL-23" in result.warnings
    assert "BR-CL-23" not in result.errors
    assert result.accepted


def test_unknown_customization_has_no_scenario(validator: Validator) -> None:
    data = ubl_with({"urn:xeinkauf.de:kosit:xrechnung_3.0": "urn:example:other"})
    result = validator.validate(data)
    assert (result.accepted, result.scenario, result.errors) == (False, None, ["NO-SCENARIO"])


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "XML-SYNTAX"),
        (b"not xml at all", "XML-SYNTAX"),
        (b"<Invoice><unclosed></Invoice>", "XML-SYNTAX"),
        ("<?xml version='1.0' encoding='UTF-8'?><a>\xe4</a>".encode("latin-1"), "XML-SYNTAX"),
        (
            b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>',
            "XML-DTD",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;'
            b'&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><a>&c;&c;&c;</a>',
            "XML-DTD",
        ),
        (b"<a/>", "NO-SCENARIO"),
    ],
)
def test_hostile_input_is_rejected_with_reason(
    validator: Validator, data: bytes, code: str
) -> None:
    result = validator.validate(data)
    assert not result.accepted
    assert result.errors == [code]


def test_size_limit_before_parsing(validator: Validator) -> None:
    result = validator.validate(UBL.read_bytes(), max_bytes=1000)
    assert result.errors == ["SIZE"]


def test_svrl_levels_as_default_report() -> None:
    assert svrl_level("fatal", None) == "error"
    assert svrl_level(None, "error") == "error"
    assert svrl_level("warning", None) == "warning"
    assert svrl_level(None, "warn") == "warning"
    assert svrl_level("information", None) == "information"
    assert svrl_level(None, None) == "error"


def _copy_release(tmp_path: Path, mutate: dict[str, bytes]) -> tuple[Release, Path]:
    import hashlib
    import zipfile

    source = SHARED / KNOWN_RELEASES[0].filename
    target = tmp_path / "broken.zip"
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for item in old.infolist():
            new.writestr(item, mutate.get(item.filename, old.read(item.filename)))
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    release = Release(
        "test", "broken.zip", digest, "https://example.invalid/", KNOWN_RELEASES[0].valid_from
    )
    return release, release_unpacked(release, source_dir=tmp_path, cache_dir=tmp_path / "cache")


def test_failing_transform_fails_closed(tmp_path: Path) -> None:
    # A stylesheet that stops with an error, as a broken rule set would.
    failing = (
        b'<xsl:stylesheet version="2.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">'
        b'<xsl:template match="/"><xsl:message terminate="yes">broken</xsl:message></xsl:template>'
        b"</xsl:stylesheet>"
    )
    release, root = _copy_release(
        tmp_path, {"resources/xrechnung/3.0.2/xsl/XRechnung-UBL-validation.xsl": failing}
    )
    result = Validator([(release, root)]).validate(UBL.read_bytes())
    assert not result.accepted
    assert result.errors == ["TRANSFORM-FAILED"]
    # CII does not use the broken stylesheet.
    assert Validator([(release, root)]).validate(CII.read_bytes()).accepted


def test_pin_mismatch_and_missing_zip_are_refused(tmp_path: Path) -> None:
    release = KNOWN_RELEASES[0]
    with pytest.raises(ArtefactError, match="not installed"):
        release_unpacked(release, source_dir=tmp_path, cache_dir=tmp_path / "cache")
    (tmp_path / release.filename).write_bytes(b"PK not the release")
    with pytest.raises(ArtefactError, match="SHA-256"):
        release_unpacked(release, source_dir=tmp_path, cache_dir=tmp_path / "cache")


def test_release_chosen_by_invoice_date(tmp_path: Path) -> None:
    from datetime import date

    release, root = _copy_release(tmp_path, {})
    newer = Release("newer", release.filename, release.sha256, release.url, date(2030, 1, 1))
    validator = Validator([(release, root), (newer, root)])
    assert validator.validate(UBL.read_bytes()).release == "test"  # issued 2016
    future = ubl_with(
        {"<cbc:IssueDate>2016-04-04</cbc:IssueDate>": "<cbc:IssueDate>2031-01-02</cbc:IssueDate>"}
    )
    assert validator.validate(future).release == "newer"


def test_command_accepts_all_86_in_one_json_line_each() -> None:
    files = [str(path) for path in suite_files()]
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "rathaus", "einvoice", "validate", "--json", *files],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["file"] for line in lines] == files
    assert all(line["accepted"] for line in lines)
    assert set(lines[0]) == {"file", "accepted", "scenario", "errors", "warnings"}


def test_command_exit_status_1_when_one_is_rejected(tmp_path: Path, validator: Validator) -> None:
    from io import StringIO

    from django.core.management import call_command

    broken = tmp_path / "broken.xml"
    broken.write_bytes(ubl_with({"<cbc:BuyerReference>04011000-12345-03</cbc:BuyerReference>": ""}))
    out = StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("einvoice", "validate", "--json", str(UBL), str(broken), stdout=out)
    assert exited.value.code == 1
    first, last = (json.loads(line) for line in out.getvalue().splitlines())
    assert first["accepted"] is True
    assert last["file"] == str(broken)
    assert last["accepted"] is False
    assert "BR-DE-15" in last["errors"]
