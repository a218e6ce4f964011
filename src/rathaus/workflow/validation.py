"""Checking uploaded BPMN and DMN files before they become a process version.

Everything that can be known without running the model is checked here, so that a
broken model is refused at upload with the ids of the elements concerned instead of
failing in a citizen's case weeks later:

- limits first, before any parsing: number of files, bytes per file and in total;
- safe XML: no DTDs or entity declarations (XXE, billion laughs), no network, malformed
  XML reported with its line;
- only the BPMN elements rathaus supports (ADR 0011) and known event definitions;
- references: sequence flows, boundary attachments, default flows, messages, signals,
  errors, escalations, called processes, called decisions, lane members, four-eyes
  partners;
- every script, condition, timer, parameter and DMN expression compiles in the sandbox;
- service tasks name a handler (unknown names are warnings, errors when strict);
- task forms and assignment extensions are well-formed;
- no cycle without an exit (a set of elements the token can never leave);
- exactly one top-level executable process;
- finally SpiffWorkflow parses the whole set against the BPMN XSD.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from rathaus.workflow.engine import ModelError, SourceFile, parse_sources, xml_parser
from rathaus.workflow.sandbox import check_source
from rathaus.workflow.taskforms import MAX_FIELDS, field_from_xml

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
RATHAUS_NS = "urn:rathaus:workflow:1"
DMN_NAMESPACES = frozenset(
    {
        "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
        "http://www.omg.org/spec/DMN/20180521/MODEL/",
        "https://www.omg.org/spec/DMN/20191111/MODEL/",
    }
)
DIAGRAM_NAMESPACES = frozenset(
    {
        "http://www.omg.org/spec/BPMN/20100524/DI",
        "http://www.omg.org/spec/DD/20100524/DC",
        "http://www.omg.org/spec/DD/20100524/DI",
        "http://www.omg.org/spec/DMN/20180521/DMNDI/",
        "http://www.omg.org/spec/DMN/20180521/DC/",
        "http://www.omg.org/spec/DMN/20180521/DI/",
        "https://www.omg.org/spec/DMN/20191111/DMNDI/",
    }
)

MAX_FILES = 20
MAX_FILE_BYTES = 1024 * 1024
MAX_TOTAL_BYTES = 4 * 1024 * 1024
MAX_ELEMENTS = 5_000
MAX_NAME = 200

FLOW_NODES = frozenset(
    {
        "startEvent",
        "endEvent",
        "intermediateCatchEvent",
        "intermediateThrowEvent",
        "boundaryEvent",
        "userTask",
        "manualTask",
        "serviceTask",
        "scriptTask",
        "businessRuleTask",
        "sendTask",
        "receiveTask",
        "task",
        "exclusiveGateway",
        "parallelGateway",
        "inclusiveGateway",
        "eventBasedGateway",
        "subProcess",
        "callActivity",
    }
)
SUPPORTED = FLOW_NODES | frozenset(
    {
        "definitions",
        "process",
        "collaboration",
        "participant",
        "messageFlow",
        "laneSet",
        "lane",
        "childLaneSet",
        "flowNodeRef",
        "sequenceFlow",
        "conditionExpression",
        "incoming",
        "outgoing",
        "extensionElements",
        "documentation",
        "textAnnotation",
        "text",
        "association",
        "group",
        "category",
        "categoryValue",
        "dataObject",
        "dataObjectReference",
        "dataInputAssociation",
        "dataOutputAssociation",
        "sourceRef",
        "targetRef",
        "ioSpecification",
        "dataInput",
        "dataOutput",
        "inputSet",
        "outputSet",
        "dataInputRefs",
        "dataOutputRefs",
        "multiInstanceLoopCharacteristics",
        "loopCardinality",
        "loopDataInputRef",
        "loopDataOutputRef",
        "inputDataItem",
        "outputDataItem",
        "completionCondition",
        "standardLoopCharacteristics",
        "loopCondition",
        "script",
        "message",
        "signal",
        "error",
        "escalation",
        "itemDefinition",
        "messageEventDefinition",
        "signalEventDefinition",
        "timerEventDefinition",
        "timeDate",
        "timeDuration",
        "timeCycle",
        "errorEventDefinition",
        "escalationEventDefinition",
        "terminateEventDefinition",
        "correlationKey",
        "correlationProperty",
        "correlationPropertyRef",
        "correlationPropertyRetrievalExpression",
        "formalExpression",
        "messagePath",
    }
)
# Named so the message explains the choice; everything else unknown is "unknown".
UNSUPPORTED_HINTS = {
    "complexGateway": "complex gateways are not supported; use inclusive or exclusive gateways",
    "transaction": "transaction subprocesses are not supported",
    "adHocSubProcess": "ad-hoc subprocesses are not supported",
    "compensateEventDefinition": "compensation events are not supported",
    "linkEventDefinition": "link events are not supported; connect the flows directly",
    "cancelEventDefinition": "cancel events are not supported",
    "conditionalEventDefinition": "conditional events are not supported; use a gateway",
    "dataStore": "data stores are not supported",
    "dataStoreReference": "data stores are not supported",
}
EVENT_REFS = {
    "messageEventDefinition": ("messageRef", "message"),
    "signalEventDefinition": ("signalRef", "signal"),
    "errorEventDefinition": ("errorRef", "error"),
    "escalationEventDefinition": ("escalationRef", "escalation"),
}


@dataclass(frozen=True)
class Problem:
    """One finding, located by file and BPMN/DMN element id."""

    file: str
    element_id: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}" + (f", element {self.element_id}" if self.element_id else "")
        return f"{where}: {self.message}"


class ModelInvalid(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


@dataclass
class Analysis:
    """What the services keep of a valid upload (``ProcessVersion.metadata`` and sources)."""

    process_id: str
    process_name: str
    sources: list[SourceFile]
    checksum: str
    forms: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    assignments: dict[str, dict[str, Any]] = field(default_factory=dict)
    lanes: dict[str, dict[str, str]] = field(default_factory=dict)
    handlers: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    signals: list[str] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    def metadata(self) -> dict[str, Any]:
        return {
            "forms": self.forms,
            "assignments": self.assignments,
            "lanes": self.lanes,
            "handlers": self.handlers,
            "messages": self.messages,
            "signals": self.signals,
            "warnings": [str(w) for w in self.warnings],
        }


def checksum_of(sources: Iterable[SourceFile]) -> str:
    digest = hashlib.sha256()
    for source in sorted(sources, key=lambda s: s.name):
        digest.update(source.name.encode() + b"\0" + source.text.encode() + b"\0")
    return digest.hexdigest()


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


def _ns(element: etree._Element) -> str:
    return etree.QName(element).namespace or ""


def _nearest_id(element: etree._Element) -> str:
    node: etree._Element | None = element
    while node is not None:
        if node.get("id"):
            return str(node.get("id"))
        node = node.getparent()
    return ""


_FILENAME = re.compile(r"^[\w .\-]{1,200}\.(bpmn|dmn)$", re.IGNORECASE)
_DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def model_analyse(
    files: Sequence[tuple[str, bytes]],
    *,
    known_handlers: set[str] | None,
    strict_handlers: bool,
) -> Analysis:
    """Check an upload; returns its analysis or raises ``ModelInvalid`` with all problems.

    ``known_handlers`` are the registered service-task handler names (None: don't check).
    """
    problems: list[Problem] = []
    if not files:
        raise ModelInvalid([Problem("", "", "no files were uploaded")])
    if len(files) > MAX_FILES:
        raise ModelInvalid([Problem("", "", f"too many files (at most {MAX_FILES})")])
    total = sum(len(content) for _name, content in files)
    if total > MAX_TOTAL_BYTES:
        raise ModelInvalid(
            [Problem("", "", f"the files are too large together (at most {MAX_TOTAL_BYTES} bytes)")]
        )
    documents: list[tuple[str, str, etree._Element, str]] = []
    seen_names: set[str] = set()
    for name, content in files:
        doc = _read(name, content, seen_names, problems)
        if doc is not None:
            documents.append(doc)
    if problems:
        raise ModelInvalid(problems)
    checker = _Checker(documents, known_handlers=known_handlers, strict_handlers=strict_handlers)
    analysis = checker.run()
    if checker.problems:
        raise ModelInvalid(checker.problems)
    assert analysis is not None
    try:
        parse_sources(analysis.sources, analysis.process_id, validate=True)
    except ModelError as error:
        raise ModelInvalid(
            [Problem(error.file_name or "", error.element_id, str(error))]
        ) from error
    return analysis


def _read(
    name: str, content: bytes, seen: set[str], problems: list[Problem]
) -> tuple[str, str, etree._Element, str] | None:
    short = str(name)[:MAX_NAME]
    if not _FILENAME.match(short) or "/" in short or short.startswith("."):
        problems.append(
            Problem(short, "", "file names end in .bpmn or .dmn (letters, digits, - _ .)")
        )
        return None
    if short.lower() in seen:
        problems.append(Problem(short, "", "the file name occurs twice"))
        return None
    seen.add(short.lower())
    if len(content) > MAX_FILE_BYTES:
        problems.append(Problem(short, "", f"file too large (at most {MAX_FILE_BYTES} bytes)"))
        return None
    if _DTD.search(content):
        problems.append(Problem(short, "", "DTDs and entity declarations are not allowed"))
        return None
    try:
        root = etree.fromstring(content, xml_parser())
    except etree.XMLSyntaxError as error:
        problems.append(Problem(short, "", f"malformed XML: {error.msg} (line {error.lineno})"))
        return None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        problems.append(Problem(short, "", "DTDs and entity declarations are not allowed"))
        return None
    element_count = sum(1 for _ in root.iter())
    if element_count > MAX_ELEMENTS:
        problems.append(Problem(short, "", f"too many elements (at most {MAX_ELEMENTS})"))
        return None
    kind = "dmn" if short.lower().endswith(".dmn") else "bpmn"
    expected = {BPMN_NS} if kind == "bpmn" else DMN_NAMESPACES
    if _local(root) != "definitions" or _ns(root) not in expected:
        what = "BPMN 2.0" if kind == "bpmn" else "DMN 1.1-1.3"
        problems.append(Problem(short, "", f"not a {what} document (root must be definitions)"))
        return None
    text = etree.tostring(root, encoding="unicode")
    return short, kind, root, text


class _Checker:
    def __init__(
        self,
        documents: list[tuple[str, str, etree._Element, str]],
        *,
        known_handlers: set[str] | None,
        strict_handlers: bool,
    ) -> None:
        self.documents = documents
        self.known_handlers = known_handlers
        self.strict_handlers = strict_handlers
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.forms: dict[str, list[dict[str, Any]]] = {}
        self.assignments: dict[str, dict[str, Any]] = {}
        self.lanes: dict[str, dict[str, str]] = {}
        self.handlers: set[str] = set()
        self.messages: set[str] = set()
        self.signals: set[str] = set()

    def problem(self, file: str, element: etree._Element | str | None, message: str) -> None:
        element_id = (
            element
            if isinstance(element, str)
            else (_nearest_id(element) if element is not None else "")
        )
        self.problems.append(Problem(file, element_id, message))

    def run(self) -> Analysis | None:
        bpmn = [(n, r) for n, k, r, _t in self.documents if k == "bpmn"]
        dmn = [(n, r) for n, k, r, _t in self.documents if k == "dmn"]
        if not bpmn:
            self.problem("", None, "at least one .bpmn file is needed")
            return None
        decisions = self._check_dmn(dmn)
        processes: dict[str, tuple[str, etree._Element]] = {}
        for name, root in bpmn:
            self._check_elements(name, root)
            for process in root.iter(f"{{{BPMN_NS}}}process"):
                pid = process.get("id", "")
                if pid in processes:
                    self.problem(name, pid, "a process with this id is in two files")
                processes[pid] = (name, process)
        called: set[str] = set()
        for name, root in bpmn:
            called |= self._check_document(name, root, set(processes), decisions)
        executable = [
            pid for pid, (_n, p) in processes.items() if p.get("isExecutable", "false") == "true"
        ]
        top = [pid for pid in executable if pid not in called]
        if not executable:
            self.problem(bpmn[0][0], None, 'no process is marked isExecutable="true"')
            return None
        if len(top) != 1:
            self.problem(
                bpmn[0][0],
                None,
                "exactly one executable process must be the top level (not called by "
                f"another); found: {', '.join(sorted(top)) or 'none'}",
            )
            return None
        process_id = top[0]
        sources = [SourceFile(n, k, t) for n, k, _r, t in self.documents]
        return Analysis(
            process_id=process_id,
            process_name=(processes[process_id][1].get("name") or process_id)[:200],
            sources=sources,
            checksum=checksum_of(sources),
            forms=self.forms,
            assignments=self.assignments,
            lanes=self.lanes,
            handlers=sorted(self.handlers),
            messages=sorted(self.messages),
            signals=sorted(self.signals),
            warnings=self.warnings,
        )

    # --- element kinds and ids ---

    def _check_elements(self, file: str, root: etree._Element) -> None:
        ids: set[str] = set()
        for element in root.iter():
            if not isinstance(element.tag, str):
                continue
            element_id = element.get("id")
            namespace = _ns(element)
            if element_id and (namespace == BPMN_NS or namespace in DMN_NAMESPACES):
                if element_id in ids:
                    self.problem(file, element_id, "the id is used twice")
                ids.add(element_id)
            if namespace == BPMN_NS:
                local = _local(element)
                if local in UNSUPPORTED_HINTS:
                    self.problem(file, element, UNSUPPORTED_HINTS[local])
                elif local not in SUPPORTED:
                    self.problem(file, element, f"unknown or unsupported element bpmn:{local}")
                elif local in FLOW_NODES and not element_id:
                    self.problem(file, element, f"a bpmn:{local} without id")
            elif namespace in DIAGRAM_NAMESPACES:
                continue
            elif not self._inside_extension(element):
                self.problem(file, element, f"element {element.tag} is not allowed here")

    @staticmethod
    def _inside_extension(element: etree._Element) -> bool:
        node = element.getparent()
        while node is not None:
            if _ns(node) == BPMN_NS and _local(node) == "extensionElements":
                return True
            if _ns(node) in DMN_NAMESPACES and _local(node) == "extensionElements":
                return True
            node = node.getparent()
        return False

    # --- BPMN ---

    def _check_document(
        self, file: str, root: etree._Element, process_ids: set[str], decisions: set[str]
    ) -> set[str]:
        b = f"{{{BPMN_NS}}}"
        definitions = {
            kind: {e.get("id"): e for e in root.iter(f"{b}{kind}")}
            for kind in ("message", "signal", "error", "escalation")
        }
        for message in definitions["message"].values():
            self.messages.add(message.get("name") or message.get("id", ""))
        for signal in definitions["signal"].values():
            self.signals.add(signal.get("name") or signal.get("id", ""))
        called: set[str] = set()
        for process in root.iter(f"{b}process"):
            self._check_lanes(file, process)
            for scope in [process, *process.iter(f"{b}subProcess")]:
                self._check_scope(file, scope)
            for element in process.iter():
                if not isinstance(element.tag, str) or _ns(element) != BPMN_NS:
                    continue
                local = _local(element)
                if local in EVENT_REFS:
                    attribute, kind = EVENT_REFS[local]
                    ref = element.get(attribute)
                    if kind in ("message", "signal") and not ref:
                        self.problem(file, element, f"the {kind} event names no {kind}")
                    elif ref and ref not in definitions[kind]:
                        self.problem(file, element, f"{attribute} {ref!r} refers to no bpmn:{kind}")
                elif local == "callActivity":
                    target = element.get("calledElement")
                    if not target:
                        self.problem(file, element, "the call activity names no calledElement")
                    else:
                        called.add(target)
                        if target not in process_ids:
                            self.problem(file, element, f"calledElement {target!r} is not uploaded")
                elif local == "businessRuleTask":
                    self._check_business_rule(file, element, decisions)
                elif local == "serviceTask":
                    self._check_service(file, element)
                elif local == "scriptTask":
                    script = element.find(f"{b}script")
                    if script is None or not (script.text or "").strip():
                        self.problem(file, element, "the script task has no script")
                    else:
                        self._expression(file, element, script.text or "", "exec", "script")
                elif local == "conditionExpression":
                    self._expression(file, element, element.text or "", "eval", "condition")
                elif local in ("timeDate", "timeDuration", "timeCycle"):
                    self._expression(file, element, element.text or "", "eval", "timer")
                elif local in ("loopCardinality", "completionCondition", "loopCondition"):
                    self._expression(file, element, element.text or "", "eval", local)
                elif local == "userTask":
                    self._check_user_task(file, element, process)
                self._check_spiff_scripts(file, element)
        return called

    def _expression(
        self, file: str, element: etree._Element, text: str, mode: str, what: str
    ) -> None:
        if not text.strip():
            self.problem(file, element, f"the {what} is empty")
            return
        reason = check_source(text.strip() if mode == "eval" else text, mode)
        if reason:
            self.problem(file, element, f"the {what} is refused: {reason}")

    def _check_spiff_scripts(self, file: str, element: etree._Element) -> None:
        extensions = element.find(f"{{{BPMN_NS}}}extensionElements")
        if extensions is None:
            return
        for child in extensions:
            if not isinstance(child.tag, str) or _ns(child) != SPIFF_NS:
                continue
            local = _local(child)
            if local in ("preScript", "postScript") and (child.text or "").strip():
                self._expression(file, element, child.text or "", "exec", local)
            elif local == "messagePayload" and (child.text or "").strip():
                self._expression(file, element, child.text or "", "eval", "message payload")

    def _check_scope(self, file: str, scope: etree._Element) -> None:
        """Flows, attachments and cycles of one process or subprocess level."""
        b = f"{{{BPMN_NS}}}"
        nodes = {
            child.get("id"): child
            for child in scope
            if isinstance(child.tag, str) and _ns(child) == BPMN_NS and _local(child) in FLOW_NODES
        }
        edges: dict[str, list[str]] = defaultdict(list)
        outgoing: dict[str, list[etree._Element]] = defaultdict(list)
        for flow in scope.findall(f"{b}sequenceFlow"):
            source, target = flow.get("sourceRef"), flow.get("targetRef")
            if source not in nodes:
                self.problem(file, flow, f"sourceRef {source!r} is no element of this process")
            if target not in nodes:
                self.problem(file, flow, f"targetRef {target!r} is no element of this process")
            if source in nodes and target in nodes:
                edges[str(source)].append(str(target))
                outgoing[str(source)].append(flow)
        for node_id, node in nodes.items():
            local = _local(node)
            if local == "boundaryEvent":
                attached = node.get("attachedToRef")
                if attached not in nodes:
                    self.problem(file, node, f"attachedToRef {attached!r} is no activity here")
                else:
                    edges[str(attached)].append(str(node_id))
            if local in ("exclusiveGateway", "inclusiveGateway"):
                self._check_gateway(file, node, outgoing.get(str(node_id), []))
        for cycle in _trap_cycles(list(nodes), edges):
            self.problem(
                file,
                cycle[0],
                "cycle without exit: the token can never leave " + ", ".join(cycle),
            )

    def _check_gateway(
        self, file: str, gateway: etree._Element, flows: list[etree._Element]
    ) -> None:
        if len(flows) < 2:
            return
        default = gateway.get("default")
        ids = {f.get("id") for f in flows}
        if default and default not in ids:
            self.problem(file, gateway, f"the default flow {default!r} is not an outgoing flow")
        for flow in flows:
            condition = flow.find(f"{{{BPMN_NS}}}conditionExpression")
            if flow.get("id") != default and (
                condition is None or not (condition.text or "").strip()
            ):
                self.problem(
                    file,
                    flow,
                    "an outgoing flow of a decision gateway needs a condition "
                    "or must be the default",
                )

    def _check_business_rule(self, file: str, element: etree._Element, decisions: set[str]) -> None:
        ref = _spiff_text(element, "calledDecisionId")
        if not ref:
            self.problem(
                file,
                element,
                "the business rule task names no decision (spiffworkflow:calledDecisionId)",
            )
        elif ref not in decisions:
            self.problem(file, element, f"the decision {ref!r} is not in the uploaded .dmn files")

    def _check_service(self, file: str, element: etree._Element) -> None:
        operator = None
        extensions = element.find(f"{{{BPMN_NS}}}extensionElements")
        if extensions is not None:
            operator = extensions.find(f"{{{SPIFF_NS}}}serviceTaskOperator")
        if operator is None or not operator.get("id"):
            self.problem(
                file,
                element,
                "the service task names no handler (spiffworkflow:serviceTaskOperator id)",
            )
            return
        handler = str(operator.get("id"))
        self.handlers.add(handler)
        if operator.find(f"{{{SPIFF_NS}}}parameters") is None:
            self.problem(
                file, element, "spiffworkflow:serviceTaskOperator needs a parameters element"
            )
        for parameter in operator.iter(f"{{{SPIFF_NS}}}parameter"):
            if not parameter.get("id"):
                self.problem(file, element, "a service task parameter has no id")
            self._expression(
                file,
                element,
                parameter.get("value", ""),
                "eval",
                f"parameter {parameter.get('id')}",
            )
        for retry in operator.iter(f"{{{SPIFF_NS}}}retry"):
            for attribute in ("retries", "backoff_base"):
                value = retry.get(attribute)
                if value is not None and not re.fullmatch(r"\d{1,4}", value):
                    self.problem(file, element, f"retry {attribute} must be a whole number")
        if self.known_handlers is not None and handler not in self.known_handlers:
            finding = Problem(
                file, str(element.get("id")), f"no handler is registered as {handler!r}"
            )
            (self.problems if self.strict_handlers else self.warnings).append(finding)

    def _check_user_task(self, file: str, element: etree._Element, process: etree._Element) -> None:
        r = f"{{{RATHAUS_NS}}}"
        element_id = str(element.get("id"))
        extensions = element.find(f"{{{BPMN_NS}}}extensionElements")
        if extensions is None:
            return
        form = extensions.find(f"{r}form")
        if form is not None:
            fields = []
            names: set[str] = set()
            for field_element in form.findall(f"{r}field"):
                options = [
                    (o.get("value", ""), o.get("label", o.get("value", "")))
                    for o in field_element.findall(f"{r}option")
                ]
                try:
                    spec = field_from_xml(dict(field_element.attrib), options)
                except ValueError as error:
                    self.problem(file, element, f"form: {error}")
                    continue
                if spec.name in names:
                    self.problem(file, element, f"form: field {spec.name} is declared twice")
                names.add(spec.name)
                fields.append(spec.to_dict())
            if len(fields) > MAX_FIELDS:
                self.problem(file, element, f"form: at most {MAX_FIELDS} fields")
            self.forms[element_id] = fields
        assignment: dict[str, Any] = {}
        candidates = extensions.find(f"{r}candidates")
        if candidates is not None:
            assignment.update(_candidates(candidates))
            expression = candidates.get("orgUnitExpression")
            if expression:
                self._expression(file, element, expression, "eval", "orgUnitExpression")
        separate = extensions.find(f"{r}separateFrom")
        if separate is not None:
            others = [t for t in re.split(r"[\s,]+", separate.text or "") if t]
            user_tasks = {t.get("id") for t in process.iter(f"{{{BPMN_NS}}}userTask")}
            for other in others:
                if other not in user_tasks or other == element_id:
                    self.problem(
                        file,
                        element,
                        f"separateFrom {other!r} is no other user task of the process",
                    )
            assignment["separate_from"] = others
        due = extensions.find(f"{r}dueDate")
        if due is not None:
            self._expression(file, element, due.text or "", "eval", "due date")
            assignment["due"] = (due.text or "").strip()
        if assignment:
            self.assignments[element_id] = assignment

    def _check_lanes(self, file: str, process: etree._Element) -> None:
        b = f"{{{BPMN_NS}}}"
        node_ids = {e.get("id") for e in process.iter() if isinstance(e.tag, str) and e.get("id")}
        for lane in process.iter(f"{b}lane"):
            for ref in lane.findall(f"{b}flowNodeRef"):
                if ref.text not in node_ids:
                    self.problem(
                        file, lane, f"the lane lists {ref.text!r}, which is not in the process"
                    )
            name = (lane.get("name") or "").strip()
            extensions = lane.find(f"{b}extensionElements")
            candidates = (
                extensions.find(f"{{{RATHAUS_NS}}}candidates") if extensions is not None else None
            )
            if candidates is not None and name:
                self.lanes[name] = _candidates(candidates)

    # --- DMN ---

    def _check_dmn(self, documents: list[tuple[str, etree._Element]]) -> set[str]:
        decisions: set[str] = set()
        for file, root in documents:
            namespace = _ns(root)
            found = [e for e in root if isinstance(e.tag, str) and _local(e) == "decision"]
            if not found:
                self.problem(file, None, "the DMN file has no decision")
                continue
            if len(found) > 1:
                self.problem(file, found[1], "one decision per .dmn file")
            decision = found[0]
            decision_id = decision.get("id", "")
            if decision_id in decisions:
                self.problem(file, decision, "the decision id is used in two files")
            decisions.add(decision_id)
            table = decision.find(f"{{{namespace}}}decisionTable")
            if table is None:
                self.problem(file, decision, "only decision tables are supported")
                continue
            for element in table.iter():
                if not isinstance(element.tag, str) or _ns(element) != namespace:
                    continue
                local = _local(element)
                text = (element.findtext(f"{{{namespace}}}text") or "").strip()
                if local == "inputExpression":
                    self._expression(file, element, text, "eval", "input expression")
                elif local == "outputEntry" and text:
                    self._expression(file, element, text, "eval", "output entry")
                elif local == "inputEntry" and text and text != "-":
                    self._input_entry(file, element, text)
        return decisions

    def _input_entry(self, file: str, element: etree._Element, text: str) -> None:
        # The DMN engine compares "(input) == (entry)", or appends the entry ("> 5"), or
        # replaces "?" by the input ("4 < ? < 6"); refuse only what none of these compile.
        candidates = [f"(x) == ({text})", f"x {text}", text.replace("?", "x")]
        reasons = [check_source(c, "eval") for c in candidates]
        if all(reasons):
            self.problem(file, element, f"the input entry is refused: {reasons[0]}")


def _spiff_text(element: etree._Element, name: str) -> str:
    extensions = element.find(f"{{{BPMN_NS}}}extensionElements")
    if extensions is None:
        return ""
    found = extensions.find(f"{{{SPIFF_NS}}}{name}")
    return (found.text or "").strip() if found is not None else ""


def _candidates(element: etree._Element) -> dict[str, str]:
    result = {}
    for attribute, key in (
        ("orgUnit", "org_unit"),
        ("role", "role"),
        ("orgUnitExpression", "org_unit_expression"),
    ):
        value = (element.get(attribute) or "").strip()
        if value:
            result[key] = value[:200]
    return result


def _trap_cycles(nodes: list[str], edges: dict[str, list[str]]) -> list[list[str]]:
    """Strongly connected components with a cycle that no edge leaves (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for start in nodes:
        if start in index:
            continue
        work = [(start, 0)]
        while work:
            node, position = work.pop()
            if position == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            successors = edges.get(node, [])
            if position < len(successors):
                work.append((node, position + 1))
                successor = successors[position]
                if successor not in index:
                    work.append((successor, 0))
                elif successor in on_stack:
                    low[node] = min(low[node], index[successor])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    traps = []
    for component in components:
        members = set(component)
        cyclic = len(component) > 1 or component[0] in edges.get(component[0], [])
        if not cyclic:
            continue
        if all(target in members for node in component for target in edges.get(node, [])):
            traps.append(sorted(component))
    return traps
