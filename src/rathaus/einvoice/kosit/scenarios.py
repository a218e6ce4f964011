"""``scenarios.xml`` of a KoSIT validator configuration, read as the KoSIT validator does."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rathaus.einvoice.kosit.artefacts import ArtefactError
from rathaus.einvoice.kosit.xmlsafe import parse_trusted_file

NS = "http://www.xoev.de/de/validator/framework/1/scenarios"
_S = f"{{{NS}}}"


@dataclass(frozen=True)
class Scenario:
    """One ``<scenario>``: when it applies and what it checks."""

    name: str
    namespaces: dict[str, str]
    match: str
    schema: str
    schematrons: tuple[str, ...]
    #: Rule id -> level ("error", "warning", "information") from ``customLevel``.
    custom_levels: dict[str, str] = field(default_factory=dict)
    accept_match: str = ""

    @property
    def is_fallback(self) -> bool:
        # default-report.xsl rejects whatever a scenario named "fallback" matched.
        return "fallback" in " ".join(self.name.lower().split())


@dataclass(frozen=True)
class ScenarioSet:
    name: str
    date: str
    scenarios: tuple[Scenario, ...]


def _text(element: object) -> str:
    return " ".join(("".join(element.itertext())).split()) if element is not None else ""  # type: ignore[attr-defined]


def scenarios_load(root: Path) -> ScenarioSet:
    """Read ``root/scenarios.xml``; raise ``ArtefactError`` if it is not usable."""
    path = root / "scenarios.xml"
    try:
        document = parse_trusted_file(str(path)).getroot()
    except (OSError, ValueError) as error:
        raise ArtefactError(f"{path} cannot be read: {error}") from error
    if document.tag != f"{_S}scenarios":
        raise ArtefactError(f"{path} is not a KoSIT scenarios file")
    scenarios = []
    for element in document.iterfind(f"{_S}scenario"):
        namespaces = {
            ns.get("prefix", ""): (ns.text or "").strip()
            for ns in element.iterfind(f"{_S}namespace")
        }
        schema = element.find(f"{_S}validateWithXmlSchema/{_S}resource/{_S}location")
        schematrons = tuple(
            (location.text or "").strip()
            for location in element.iterfind(
                f"{_S}validateWithSchematron/{_S}resource/{_S}location"
            )
        )
        levels: dict[str, str] = {}
        for custom in element.iterfind(f"{_S}createReport/{_S}customLevel"):
            for code in (custom.text or "").split():
                levels[code] = custom.get("level", "")
        match = _text(element.find(f"{_S}match"))
        if schema is None or not match:
            raise ArtefactError(
                f"{path}: scenario {_text(element.find(f'{_S}name'))!r} is incomplete"
            )
        for location in (schema.text or "", *schematrons):
            if not (root / location.strip()).is_file():
                raise ArtefactError(f"{path} names {location.strip()}, which is missing")
        scenarios.append(
            Scenario(
                name=_text(element.find(f"{_S}name")),
                namespaces=namespaces,
                match=match,
                schema=(schema.text or "").strip(),
                schematrons=schematrons,
                custom_levels=levels,
                accept_match=_text(element.find(f"{_S}acceptMatch")),
            )
        )
    if not scenarios:
        raise ArtefactError(f"{path} defines no scenario")
    return ScenarioSet(
        name=_text(document.find(f"{_S}name")),
        date=_text(document.find(f"{_S}date")),
        scenarios=tuple(scenarios),
    )
