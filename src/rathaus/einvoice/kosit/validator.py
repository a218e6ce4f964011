"""The validation pipeline: scenario, XSD, Schematron, custom levels, verdict.

One ``Validator`` per process holds the compiled XML Schemas and Schematron executables
of every installed release; they are compiled on first use (or by ``warm``) and reused for
every document. saxonche is not used from two threads at once: a lock serialises it
(web workers are processes; the benchmark uses one validator per process).
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from lxml import etree

from rathaus.einvoice.kosit.artefacts import ArtefactError, Release
from rathaus.einvoice.kosit.scenarios import Scenario, ScenarioSet, scenarios_load
from rathaus.einvoice.kosit.xmlsafe import DEFAULT_MAX_BYTES, UnsafeXml, parse, parse_trusted_file

SVRL = "http://purl.oclc.org/dsdl/svrl"
REP = "http://www.xoev.de/de/validator/varl/1"

#: Fixed codes for findings that are not Schematron rules.
CODE_SCHEMA = "XSD"
CODE_NO_SCENARIO = "NO-SCENARIO"
CODE_TRANSFORM = "TRANSFORM-FAILED"

_ERROR_FLAGS = {"fatal", "error"}
_WARNING_FLAGS = {"warning", "warn"}
_INFO_FLAGS = {"information", "info"}


@dataclass(frozen=True)
class Message:
    """One finding: ``code`` is the rule id as the KoSIT report gives it."""

    code: str
    level: str  # error, warning, information (after the scenario's custom levels)
    text: str
    location: str = ""
    step: str = ""  # xml, xsd, or the Schematron file


@dataclass
class ValidationResult:
    accepted: bool
    scenario: str | None
    release: str | None = None
    syntax: str = ""
    messages: list[Message] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        return [m.code for m in self.messages if m.level == "error"]

    @property
    def warnings(self) -> list[str]:
        return [m.code for m in self.messages if m.level == "warning"]

    def as_line(self, file: str) -> dict[str, Any]:
        """The object the command line prints per file."""
        return {
            "file": file,
            "accepted": self.accepted,
            "scenario": self.scenario,
            "errors": self.errors,
            "warnings": self.warnings,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "scenario": self.scenario,
            "release": self.release,
            "syntax": self.syntax,
            "messages": [asdict(m) for m in self.messages],
        }


def svrl_level(flag: str | None, role: str | None) -> str:
    """The level of a failed assert or successful report, as default-report.xsl maps it."""
    values = {v for v in (flag, role) if v is not None}
    if values & _ERROR_FLAGS:
        return "error"
    if values & _WARNING_FLAGS:
        return "warning"
    if values & _INFO_FLAGS:
        return "information"
    return "error"


def svrl_messages(svrl: str, *, step: str) -> list[Message]:
    """The findings of one SVRL document; raises ``ValueError`` if it is no SVRL output."""
    root = etree.fromstring(
        svrl.encode("utf-8"),
        etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True),
    )
    if root.tag != f"{{{SVRL}}}schematron-output":
        raise ValueError("the stylesheet produced no svrl:schematron-output")
    messages = []
    for element in root.iter(f"{{{SVRL}}}failed-assert", f"{{{SVRL}}}successful-report"):
        text = element.find(f"{{{SVRL}}}text")
        messages.append(
            Message(
                code=element.get("id") or "UNSPECIFIC",
                level=svrl_level(element.get("flag"), element.get("role")),
                text=" ".join("".join(text.itertext()).split()) if text is not None else "",
                location=element.get("location", ""),
                step=step,
            )
        )
    return messages


_processor_lock = threading.Lock()
_processor: Any = None
#: Compiled Schematron executables of this process by stylesheet path.
_compiled: dict[str, Any] = {}


def saxon_processor() -> Any:
    """The process's one Saxon processor."""
    global _processor
    with _processor_lock:
        if _processor is None:
            from saxonche import PySaxonProcessor  # type: ignore[import-not-found]

            _processor = PySaxonProcessor(license=False)
        return _processor


def issue_date(root: etree._Element) -> date | None:
    """BT-2 of a UBL or CII document, if readable."""
    for value in root.xpath(
        "/*/*[local-name()='IssueDate'] | "
        "/*/*[local-name()='ExchangedDocument']/*[local-name()='IssueDateTime']"
        "/*[local-name()='DateTimeString']"
    ):
        text = (value.text or "").strip().replace("-", "")
        if len(text) == 8 and text.isdigit():
            try:
                return date(int(text[:4]), int(text[4:6]), int(text[6:]))
            except ValueError:
                return None
    return None


def syntax_of(root: etree._Element) -> str:
    name = etree.QName(root)
    return {
        ("urn:oasis:names:specification:ubl:schema:xsd:Invoice-2", "Invoice"): "ubl-invoice",
        ("urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2", "CreditNote"): (
            "ubl-creditnote"
        ),
        ("urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100", "CrossIndustryInvoice"): (
            "cii"
        ),
    }.get((name.namespace or "", name.localname), "")


class _LoadedRelease:
    def __init__(self, release: Release, root: Path) -> None:
        self.release = release
        self.root = root
        self.scenarios: ScenarioSet = scenarios_load(root)
        self.schemas: dict[str, etree.XMLSchema] = {}
        self.stylesheets: dict[str, Any] = {}

    def schema(self, location: str) -> etree.XMLSchema:
        if location not in self.schemas:
            try:
                self.schemas[location] = etree.XMLSchema(
                    parse_trusted_file(str(self.root / location))
                )
            except (OSError, etree.XMLSchemaParseError, etree.XMLSyntaxError) as error:
                raise ArtefactError(
                    f"the XML Schema {location} cannot be loaded: {error}"
                ) from error
        return self.schemas[location]

    def stylesheet(self, location: str) -> Any:
        if location not in self.stylesheets:
            path = self.root / location
            # Unpacked releases never change in place (see artefacts.release_unpacked), so
            # an executable compiled from one file serves every validator of the process.
            cached = _compiled.get(str(path.resolve()))
            if cached is not None:
                self.stylesheets[location] = cached
                return cached
            compiler = saxon_processor().new_xslt30_processor()
            try:
                executable = compiler.compile_stylesheet(stylesheet_file=str(path))
            except Exception as error:  # saxonche raises PySaxonApiError and others
                raise ArtefactError(
                    f"the stylesheet {location} does not compile: {error}"
                ) from error
            if executable is None:
                raise ArtefactError(f"the stylesheet {location} does not compile")
            self.stylesheets[location] = executable
            _compiled[str(path.resolve())] = executable
        return self.stylesheets[location]

    def warm(self) -> None:
        for scenario in self.scenarios.scenarios:
            self.schema(scenario.schema)
            for location in scenario.schematrons:
                self.stylesheet(location)


class Validator:
    """Validates e-invoices against the installed releases.

    ``releases`` pairs each release with the folder it is unpacked in.
    """

    def __init__(self, releases: list[tuple[Release, Path]]) -> None:
        if not releases:
            raise ArtefactError("no XRechnung validator configuration is installed")
        self._releases = [_LoadedRelease(release, root) for release, root in releases]
        # Newest first: ties in the date choice go to the newest release.
        self._releases.sort(key=lambda loaded: loaded.release.valid_from, reverse=True)
        self._lock = threading.RLock()

    @property
    def release_keys(self) -> list[str]:
        return [loaded.release.key for loaded in self._releases]

    def warm(self) -> None:
        """Compile every schema and stylesheet now (a worker calls this at start)."""
        with self._lock:
            for loaded in self._releases:
                loaded.warm()

    def validate(self, data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ValidationResult:
        """The KoSIT verdict on ``data``. Never raises for bad input; raises
        ``ArtefactError`` only when the rule artefacts themselves are broken."""
        try:
            tree = parse(data, max_bytes=max_bytes)
        except UnsafeXml as error:
            return ValidationResult(
                accepted=False,
                scenario=None,
                messages=[Message(error.code, "error", error.message, step="xml")],
            )
        with self._lock:
            return self._validate_tree(tree)

    def _validate_tree(self, tree: etree._ElementTree) -> ValidationResult:
        root = tree.getroot()
        processor = saxon_processor()
        try:
            document = processor.parse_xml(xml_text=etree.tostring(root, encoding="unicode"))
        except Exception as error:
            return ValidationResult(
                accepted=False,
                scenario=None,
                syntax=syntax_of(root),
                messages=[Message("XML-SYNTAX", "error", f"not readable: {error}", step="xml")],
            )
        chosen = self._scenario_choose(document, issue_date(root))
        if chosen is None:
            return ValidationResult(
                accepted=False,
                scenario=None,
                syntax=syntax_of(root),
                messages=[
                    Message(
                        CODE_NO_SCENARIO,
                        "error",
                        "no scenario of the installed validator configurations matches this "
                        "document (unknown document type or specification identifier)",
                        step="scenario",
                    )
                ],
            )
        loaded, scenario = chosen
        result = ValidationResult(
            accepted=False,
            scenario=scenario.name,
            release=loaded.release.key,
            syntax=syntax_of(root),
        )
        raw: list[Message] = []
        schema = loaded.schema(scenario.schema)
        if not schema.validate(tree):
            raw.extend(
                Message(
                    CODE_SCHEMA,
                    "error",
                    entry.message,
                    location=f"line {entry.line}" if entry.line > 0 else "",
                    step="xsd",
                )
                for entry in schema.error_log
            )
        else:
            for location in scenario.schematrons:
                executable = loaded.stylesheet(location)
                try:
                    output = executable.transform_to_string(xdm_node=document)
                    if not output:
                        raise ValueError("the stylesheet produced no output")
                    raw.extend(svrl_messages(output, step=location))
                except Exception as error:
                    # Fail closed: a rule set that did not run cannot vouch for the invoice.
                    raw.append(
                        Message(
                            CODE_TRANSFORM,
                            "error",
                            f"the Schematron stylesheet {location} failed: {error}",
                            step=location,
                        )
                    )
                    break
        result.messages = [
            Message(m.code, scenario.custom_levels.get(m.code, m.level), m.text, m.location, m.step)
            for m in raw
        ]
        result.accepted = self._accepted(scenario, result.messages)
        return result

    def _scenario_choose(
        self, document: Any, invoice_date: date | None
    ) -> tuple[_LoadedRelease, Scenario] | None:
        matches: list[tuple[_LoadedRelease, Scenario]] = []
        for loaded in self._releases:
            for scenario in loaded.scenarios.scenarios:
                # As the KoSIT validator: the first scenario whose match holds.
                if _xpath_true(document, scenario.namespaces, scenario.match):
                    matches.append((loaded, scenario))
                    break
        if not matches:
            return None
        if invoice_date is not None:
            for loaded, scenario in matches:  # newest release first
                if loaded.release.valid_from <= invoice_date:
                    return loaded, scenario
        # An invoice older than every release (or without a date): the oldest that matches.
        return matches[-1]

    @staticmethod
    def _accepted(scenario: Scenario, messages: list[Message]) -> bool:
        # default-report.xsl's assessment.
        if scenario.is_fallback or any(m.level == "error" for m in messages):
            verdict = "reject"
        else:
            verdict = "accept"
        if not scenario.accept_match:
            return verdict == "accept"
        # The scenario's acceptMatch decides, evaluated on a report of the same shape.
        report = (
            f'<rep:report xmlns:rep="{REP}"><rep:scenarioMatched><rep:name>'
            f"{escape(scenario.name)}</rep:name></rep:scenarioMatched>"
            + "".join(
                f'<rep:message level="{m.level}" code="{escape(m.code, {chr(34): "&quot;"})}"/>'
                for m in messages
            )
            + f"<rep:assessment><rep:{verdict}/></rep:assessment></rep:report>"
        )
        node = saxon_processor().parse_xml(xml_text=report)
        return _xpath_true(node, scenario.namespaces | {"rep": REP}, scenario.accept_match)


def _xpath_true(node: Any, namespaces: dict[str, str], expression: str) -> bool:
    xpath = saxon_processor().new_xpath_processor()
    for prefix, uri in namespaces.items():
        if prefix:
            xpath.declare_namespace(prefix, uri)
    xpath.set_context(xdm_item=node)
    try:
        return bool(xpath.effective_boolean_value(expression))
    except Exception as error:
        raise ArtefactError(
            f"the expression {expression!r} cannot be evaluated: {error}"
        ) from error
