"""Uploads are checked completely at deployment: problems name file and element id."""

from pathlib import Path

import pytest

from rathaus.core.models import Municipality
from rathaus.workflow.models import ProcessDefinition, ProcessVersion
from rathaus.workflow.services import ModelRejected
from rathaus.workflow.validation import MAX_FILE_BYTES, MAX_FILES
from tests.workflow.factories import bpmn, deploy, linear, script_task, service_task, user_task

pytestmark = pytest.mark.django_db

SHIPPED = Path(__file__).resolve().parents[2] / "src/rathaus/workflow/models_bpmn"


def rejected(municipality: Municipality, *files: tuple[str, bytes]) -> list[str]:
    """Deploy ``files`` expecting refusal; returns the problems; nothing was stored."""
    with pytest.raises(ModelRejected) as refused:
        deploy(municipality, *files)
    assert refused.value.status == 400
    assert refused.value.code == "invalid_model"
    assert ProcessDefinition.objects.count() == 0
    assert ProcessVersion.objects.count() == 0
    assert refused.value.fields["files"] == [str(p) for p in refused.value.problems]
    return refused.value.fields["files"]


def test_malformed_xml(municipality: Municipality) -> None:
    problems = rejected(municipality, ("broken.bpmn", b"<bpmn:definitions><unclosed>"))
    assert len(problems) == 1
    assert problems[0].startswith("broken.bpmn: malformed XML:")


def test_external_entities_are_refused_before_parsing(municipality: Municipality) -> None:
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">'
        b"<bpmn:documentation>&x;</bpmn:documentation></bpmn:definitions>"
    )
    assert rejected(municipality, ("xxe.bpmn", xxe)) == [
        "xxe.bpmn: DTDs and entity declarations are not allowed"
    ]


def test_billion_laughs_is_refused(municipality: Municipality) -> None:
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "ha">'
        + b"".join(
            f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'.encode() for i in range(9)
        )
        + b"]><l>&j;</l>"
    )
    assert rejected(municipality, ("laughs.bpmn", laughs)) == [
        "laughs.bpmn: DTDs and entity declarations are not allowed"
    ]


def test_utf16_doctype_is_refused_after_parsing(municipality: Municipality) -> None:
    document = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE d><d/>'.encode("utf-16")
    assert rejected(municipality, ("utf16.bpmn", document)) == [
        "utf16.bpmn: DTDs and entity declarations are not allowed"
    ]


def test_unknown_and_unsupported_elements(municipality: Municipality) -> None:
    model = linear(
        '<bpmn:fooTask id="mystery"/>',
        '<bpmn:complexGateway id="complex"/>',
    )
    problems = rejected(municipality, ("odd.bpmn", model))
    assert "odd.bpmn, element mystery: unknown or unsupported element bpmn:fooTask" in problems
    assert (
        "odd.bpmn, element complex: complex gateways are not supported; "
        "use inclusive or exclusive gateways"
    ) in problems


def test_broken_references(municipality: Municipality) -> None:
    model = bpmn(
        '<bpmn:startEvent id="start"/>'
        '<bpmn:sequenceFlow id="to_nowhere" sourceRef="start" targetRef="ghost"/>'
        '<bpmn:callActivity id="call" calledElement="not_uploaded"/>'
        '<bpmn:businessRuleTask id="rules"><bpmn:extensionElements>'
        "<spiffworkflow:calledDecisionId>no_table</spiffworkflow:calledDecisionId>"
        "</bpmn:extensionElements></bpmn:businessRuleTask>"
        '<bpmn:intermediateCatchEvent id="wait">'
        '<bpmn:messageEventDefinition messageRef="no_message"/></bpmn:intermediateCatchEvent>'
        '<bpmn:boundaryEvent id="edge" attachedToRef="nothing">'
        '<bpmn:timerEventDefinition><bpmn:timeDuration>"P1D"</bpmn:timeDuration>'
        "</bpmn:timerEventDefinition></bpmn:boundaryEvent>"
    )
    problems = rejected(municipality, ("refs.bpmn", model))
    assert sorted(problems) == [
        "refs.bpmn, element call: calledElement 'not_uploaded' is not uploaded",
        "refs.bpmn, element edge: attachedToRef 'nothing' is no activity here",
        "refs.bpmn, element rules: the decision 'no_table' is not in the uploaded .dmn files",
        "refs.bpmn, element to_nowhere: targetRef 'ghost' is no element of this process",
        "refs.bpmn, element wait: messageRef 'no_message' refers to no bpmn:message",
    ]


def test_cycle_without_exit(municipality: Municipality) -> None:
    model = bpmn(
        '<bpmn:startEvent id="start"/>'
        '<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="a"/>'
        '<bpmn:userTask id="a"/><bpmn:sequenceFlow id="f1" sourceRef="a" targetRef="b"/>'
        '<bpmn:scriptTask id="b"><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>'
        '<bpmn:sequenceFlow id="f2" sourceRef="b" targetRef="a"/>'
    )
    assert rejected(municipality, ("loop.bpmn", model)) == [
        "loop.bpmn, element a: cycle without exit: the token can never leave a, b"
    ]


def test_cycle_with_an_exit_is_fine(municipality: Municipality) -> None:
    model = bpmn(
        '<bpmn:startEvent id="start"/>'
        '<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="a"/>'
        '<bpmn:userTask id="a"/><bpmn:sequenceFlow id="f1" sourceRef="a" targetRef="g"/>'
        '<bpmn:exclusiveGateway id="g" default="again"/>'
        '<bpmn:sequenceFlow id="again" sourceRef="g" targetRef="a"/>'
        '<bpmn:sequenceFlow id="out" sourceRef="g" targetRef="end">'
        "<bpmn:conditionExpression>done</bpmn:conditionExpression></bpmn:sequenceFlow>"
        '<bpmn:endEvent id="end"/>'
    )
    assert deploy(municipality, ("loop.bpmn", model)).number == 1


def test_sandbox_refusals_in_scripts_and_conditions(municipality: Municipality) -> None:
    model = bpmn(
        '<bpmn:startEvent id="start"/>'
        '<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="s"/>'
        + script_task("s", "import os")
        + '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="g"/>'
        '<bpmn:exclusiveGateway id="g"/>'
        '<bpmn:sequenceFlow id="a" sourceRef="g" targetRef="end">'
        "<bpmn:conditionExpression>().__class__</bpmn:conditionExpression></bpmn:sequenceFlow>"
        '<bpmn:sequenceFlow id="b" sourceRef="g" targetRef="end"/>'
        '<bpmn:endEvent id="end"/>'
    )
    assert sorted(rejected(municipality, ("bad.bpmn", model))) == [
        "bad.bpmn, element a: the condition is refused: attribute '__class__' is not allowed",
        "bad.bpmn, element b: an outgoing flow of a decision gateway needs a condition or must "
        "be the default",
        "bad.bpmn, element s: the script is refused: Import is not allowed in process scripts",
    ]


def test_service_task_without_handler_and_broken_form(municipality: Municipality) -> None:
    model = linear(
        '<bpmn:serviceTask id="svc"/>',
        user_task(
            "form",
            fields='<rathaus:field id="x" type="colour"/><rathaus:field id="2bad"/>'
            '<rathaus:field id="pick" type="enum"/>',
            extra="<rathaus:separateFrom>nobody</rathaus:separateFrom>",
        ),
    )
    assert sorted(rejected(municipality, ("svc.bpmn", model))) == [
        "svc.bpmn, element form: form: field id '2bad' must be a variable name "
        "(letters, digits, _)",
        "svc.bpmn, element form: form: field pick: an enum field needs rathaus:option elements",
        "svc.bpmn, element form: form: field x: unknown type 'colour' (known: string, text, "
        "integer, number, boolean, date, enum, email)",
        "svc.bpmn, element form: separateFrom 'nobody' is no other user task of the process",
        "svc.bpmn, element svc: the service task names no handler "
        "(spiffworkflow:serviceTaskOperator id)",
    ]


def test_unregistered_handler_is_a_warning_unless_strict(
    municipality: Municipality, settings: object
) -> None:
    model = linear(service_task("svc", "nobody.registered"))
    version = deploy(municipality, ("svc.bpmn", model))
    assert version.metadata["warnings"] == [
        "svc.bpmn, element svc: no handler is registered as 'nobody.registered'"
    ]
    settings.RATHAUS_WORKFLOW_STRICT_HANDLERS = True  # type: ignore[attr-defined]
    other = linear(service_task("svc2", "nobody.registered"), process_id="other")
    with pytest.raises(ModelRejected) as refused:
        deploy(municipality, ("other.bpmn", other))
    assert refused.value.fields["files"] == [
        "other.bpmn, element svc2: no handler is registered as 'nobody.registered'"
    ]


def test_limits_apply_before_parsing(municipality: Municipality) -> None:
    huge = b"<a>" + b" " * MAX_FILE_BYTES + b"</a>"
    assert rejected(municipality, ("huge.bpmn", huge)) == [
        f"huge.bpmn: file too large (at most {MAX_FILE_BYTES} bytes)"
    ]
    many = [(f"f{i}.bpmn", b"<a/>") for i in range(MAX_FILES + 1)]
    assert rejected(municipality, *many) == [f": too many files (at most {MAX_FILES})"]
    assert rejected(municipality) == [": no files were uploaded"]


def test_too_many_elements(municipality: Municipality) -> None:
    body = "".join(f'<bpmn:task id="t{i}"/>' for i in range(5001))
    assert rejected(municipality, ("big.bpmn", bpmn(body))) == [
        "big.bpmn: too many elements (at most 5000)"
    ]


def test_file_names_and_document_kinds(municipality: Municipality) -> None:
    assert rejected(municipality, ("../evil.bpmn", linear())) == [
        "../evil.bpmn: file names end in .bpmn or .dmn (letters, digits, - _ .)"
    ]
    assert rejected(municipality, ("model.xml", linear())) == [
        "model.xml: file names end in .bpmn or .dmn (letters, digits, - _ .)"
    ]
    assert rejected(municipality, ("table.dmn", linear())) == [
        "table.dmn: not a DMN 1.1-1.3 document (root must be definitions)"
    ]
    assert rejected(municipality, ("a.bpmn", linear()), ("A.bpmn", linear())) == [
        "A.bpmn: the file name occurs twice"
    ]


def test_no_or_several_top_level_processes(municipality: Municipality) -> None:
    not_executable = linear().replace(b'isExecutable="true"', b'isExecutable="false"')
    assert rejected(municipality, ("p.bpmn", not_executable)) == [
        'p.bpmn: no process is marked isExecutable="true"'
    ]
    assert rejected(
        municipality, ("a.bpmn", linear(process_id="a")), ("b.bpmn", linear(process_id="b"))
    ) == [
        "a.bpmn: exactly one executable process must be the top level (not called by "
        "another); found: a, b"
    ]


def test_dmn_expressions_are_checked(municipality: Municipality) -> None:
    dmn = (
        (SHIPPED / "application_decision.dmn")
        .read_bytes()
        .replace(b'<text>"approve"</text>', b"<text>__import__('os')</text>")
    )
    problems = rejected(
        municipality,
        ("generic_application.bpmn", (SHIPPED / "generic_application.bpmn").read_bytes()),
        ("application_decision.dmn", dmn),
    )
    assert problems == [
        "application_decision.dmn, element rule_approve_decision: the output entry is refused: "
        "names starting with '_' are not allowed: __import__"
    ]


def test_spiffworkflow_refusals_carry_the_element_id(municipality: Municipality) -> None:
    # A multi-instance task without cardinality or input passes our checks; the engine's
    # parser refuses it and names the element.
    model = linear(
        '<bpmn:userTask id="many"><bpmn:multiInstanceLoopCharacteristics/></bpmn:userTask>'
    )
    problems = rejected(municipality, ("mi.bpmn", model))
    assert len(problems) == 1
    assert problems[0].startswith("mi.bpmn, element many: A multiinstance task must specify")
