"""Process models in the back office: versions, upload, default version and the editor's
deploy, with hostile input. A refused model stores nothing."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from rathaus.core.models import Municipality
from rathaus.workflow import services
from rathaus.workflow.models import ProcessInstance, ProcessSource, ProcessVersion
from rathaus.workflow.validation import MAX_FILE_BYTES
from tests.factories import StaffFactory
from tests.workflow.conftest import Administration, HandlerLog
from tests.workflow.factories import deploy, linear, user_task
from tests.workflow.test_inbox_pages import signed_in

pytestmark = pytest.mark.django_db

SHIPPED = Path(__file__).resolve().parents[2] / "src/rathaus/workflow/models_bpmn"
SIMPLE = linear(user_task("step"))
XXE = (
    b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">'
    b"<bpmn:documentation>&x;</bpmn:documentation></bpmn:definitions>"
)


@pytest.fixture
def admin(admin_tree: Administration) -> Client:
    """The process administrator (manage and monitor), signed in with a second factor."""
    return signed_in(admin_tree.monitor)


def edit_url(version: ProcessVersion, name: str) -> str:
    return reverse("workflow:version_edit", args=[version.pk, name])


def test_process_list_shows_versions_and_the_default(
    admin_tree: Administration, admin: Client, shipped: None
) -> None:
    first = ProcessVersion.objects.get(definition__key="mayor_question")
    deploy(
        admin_tree.municipality,
        (
            "q.bpmn",
            (SHIPPED / "mayor_question.bpmn")
            .read_bytes()
            .replace(b"Draft the answer", b"Write the answer"),
        ),
    )
    response = admin.get(reverse("workflow:process_list"))
    body = response.content.decode()
    assert response.status_code == 200
    assert [d.key for d, _versions in response.context["processes"]] == [
        "generic_application",
        "invoice_approval",
        "mayor_question",
    ]
    mayor = {d.key: v for d, v in response.context["processes"]}["mayor_question"]
    assert [(v.number, v.is_default) for v in mayor] == [(2, True), (1, False)]
    assert body.count("Default for new cases") == 3
    assert reverse("workflow:version_make_default", args=[first.pk]) in body


def test_process_list_query_count_is_constant(
    admin_tree: Administration, admin: Client, shipped: None
) -> None:
    admin.get(reverse("workflow:process_list"))

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert admin.get(reverse("workflow:process_list")).status_code == 200
        return len(queries)

    few = count()
    deploy(admin_tree.municipality, ("s.bpmn", SIMPLE))
    deploy(admin_tree.municipality, ("s.bpmn", linear(user_task("other"))))
    assert count() == few


def test_process_pages_need_the_permission_and_the_tenant(
    admin_tree: Administration, shipped: None, other_municipality: Municipality
) -> None:
    version = ProcessVersion.objects.get(definition__key="invoice_approval")
    clerk = signed_in(admin_tree.clerk)
    for url in [
        reverse("workflow:process_list"),
        reverse("workflow:process_upload"),
        reverse("workflow:version_detail", args=[version.pk]),
        edit_url(version, "invoice_approval.bpmn"),
    ]:
        assert clerk.get(url).status_code == 403
    assert (
        clerk.post(reverse("workflow:version_make_default", args=[version.pk])).status_code == 403
    )
    # A process administrator of another municipality does not find this one's versions
    stranger = StaffFactory(municipality=other_municipality, is_superuser=True)
    other = signed_in(stranger, host="beispielheim.localhost")
    assert other.get(reverse("workflow:version_detail", args=[version.pk])).status_code == 404
    assert other.get(edit_url(version, "invoice_approval.bpmn")).status_code == 404
    assert other.post(edit_url(version, "invoice_approval.bpmn"), {"xml": "x"}).status_code == 404
    assert (
        other.post(reverse("workflow:version_make_default", args=[version.pk])).status_code == 404
    )
    # An unknown file of a known version neither
    assert signed_in(admin_tree.monitor).get(edit_url(version, "nope.bpmn")).status_code == 404
    assert ProcessVersion.objects.count() == 3


# --- upload -------------------------------------------------------------------------------


def upload(client: Client, *files: tuple[str, bytes], make_default: bool = True) -> object:
    data: dict[str, object] = {
        "sources": [SimpleUploadedFile(name, content) for name, content in files]
    }
    if make_default:
        data["make_default"] = "on"
    return client.post(reverse("workflow:process_upload"), data)


def test_upload_deploys_a_new_version(admin_tree: Administration, admin: Client) -> None:
    response = upload(admin, ("simple.bpmn", SIMPLE))
    version = ProcessVersion.objects.get()
    assert response.status_code == 302  # type: ignore[attr-defined]
    assert response["Location"] == reverse("workflow:version_detail", args=[version.pk])  # type: ignore[index]
    assert (version.number, version.is_default, version.deployed_by) == (
        1,
        True,
        admin_tree.monitor,
    )
    page = admin.get(response["Location"]).content.decode()  # type: ignore[index]
    assert "Test: version 1 is deployed." in page
    assert edit_url(version, "simple.bpmn") in page


def test_upload_lists_every_problem_with_its_element(admin: Client) -> None:
    broken = linear(user_task("step")).replace(b'targetRef="end"', b'targetRef="nowhere"')
    response = upload(admin, ("broken.bpmn", broken))
    body = response.content.decode()  # type: ignore[attr-defined]
    assert response.status_code == 400  # type: ignore[attr-defined]
    problems = [str(p) for p in response.context["problems"]]  # type: ignore[attr-defined]
    assert any("element f1" in p and "nowhere" in p for p in problems), problems
    assert "element <code>f1</code>" in body
    assert "The model was not deployed" in body
    assert ProcessVersion.objects.count() == 0


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([("xxe.bpmn", XXE)], "DTDs and entity declarations are not allowed"),
        ([("notes.txt", SIMPLE)], "notes.txt"),
        ([("big.bpmn", b" " * (MAX_FILE_BYTES + 1))], "big.bpmn is larger than 1 MB."),
        ([(f"f{i}.bpmn", SIMPLE) for i in range(21)], "Upload at most 20 files at once."),
        ([], "Choose at least one file."),
    ],
)
def test_hostile_uploads_are_refused(
    admin: Client, files: list[tuple[str, bytes]], message: str
) -> None:
    response = upload(admin, *files)
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert message in response.content.decode()  # type: ignore[attr-defined]
    assert ProcessVersion.objects.count() == 0


# --- default version -----------------------------------------------------------------------


def test_make_default_switches_the_version_for_new_cases(
    admin_tree: Administration, admin: Client
) -> None:
    first = deploy(admin_tree.municipality, ("s.bpmn", SIMPLE))
    second = deploy(admin_tree.municipality, ("s.bpmn", linear(user_task("other"))))
    assert admin.get(reverse("workflow:version_make_default", args=[first.pk])).status_code == 405
    response = admin.post(reverse("workflow:version_make_default", args=[first.pk]))
    assert response.status_code == 302
    assert ProcessVersion.objects.get(pk=first.pk).is_default
    assert not ProcessVersion.objects.get(pk=second.pk).is_default
    instance = services.instance_start(
        municipality=admin_tree.municipality, process_key="test_process"
    )
    assert instance.version_id == first.pk


# --- the editor ----------------------------------------------------------------------------


def test_editor_shows_the_source_and_the_diagram_container(
    admin_tree: Administration, admin: Client, shipped: None
) -> None:
    version = ProcessVersion.objects.get(definition__key="invoice_approval")
    response = admin.get(edit_url(version, "invoice_approval.bpmn"))
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="modeller-canvas"' in body
    assert 'data-kind="bpmn"' in body
    assert "&lt;bpmndi:BPMNDiagram" in body  # the shipped model has a layout now
    assert "workflow/modeller.js" in body
    assert "<script>" not in body


def test_editor_post_deploys_the_next_version_and_running_cases_keep_theirs(
    admin_tree: Administration, admin: Client, shipped: None, handlers: HandlerLog
) -> None:
    version = ProcessVersion.objects.get(definition__key="mayor_question")
    running = services.instance_start(
        municipality=admin_tree.municipality, process_key="mayor_question"
    )
    source = ProcessSource.objects.get(version=version).text
    changed = source.replace('name="Assign to a department"', 'name="Choose the department"')
    response = admin.post(
        edit_url(version, "mayor_question.bpmn"), {"xml": changed, "make_default": "on"}
    )
    new = ProcessVersion.objects.get(definition__key="mayor_question", number=2)
    assert response.status_code == 302
    assert response["Location"] == reverse("workflow:version_detail", args=[new.pk])
    assert new.is_default
    assert new.deployed_by == admin_tree.monitor
    assert 'name="Choose the department"' in ProcessSource.objects.get(version=new).text
    running.refresh_from_db()
    assert running.version_id == version.pk
    fresh = services.instance_start(
        municipality=admin_tree.municipality, process_key="mayor_question"
    )
    assert fresh.version_id == new.pk
    assert fresh.user_tasks.get().name == "Choose the department"


def test_editor_keeps_the_other_files_of_the_version(
    admin_tree: Administration, admin: Client, shipped: None
) -> None:
    version = ProcessVersion.objects.get(definition__key="generic_application")
    table = ProcessSource.objects.get(version=version, kind="dmn").text
    changed = table.replace('"All requirements are met."', '"Alle Voraussetzungen erfüllt."')
    response = admin.post(edit_url(version, "application_decision.dmn"), {"xml": changed})
    assert response.status_code == 302
    new = ProcessVersion.objects.get(definition__key="generic_application", number=2)
    assert sorted(new.sources.values_list("name", flat=True)) == [
        "application_decision.dmn",
        "generic_application.bpmn",
    ]
    assert "Alle Voraussetzungen erfüllt." in new.sources.get(kind="dmn").text
    # Not made the default: the box was not ticked
    assert not new.is_default


def test_editor_post_without_changes_makes_no_version(admin: Client, shipped: None) -> None:
    version = ProcessVersion.objects.get(definition__key="invoice_approval")
    source = ProcessSource.objects.get(version=version).text
    response = admin.post(edit_url(version, "invoice_approval.bpmn"), {"xml": source}, follow=True)
    assert "Nothing changed, so no new version was made." in response.content.decode()
    assert ProcessVersion.objects.filter(definition__key="invoice_approval").count() == 1


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        ("<bpmn:definitions><unclosed>", "malformed XML"),
        (XXE.decode(), "DTDs and entity declarations are not allowed"),
        ("", "This field is required."),
        ("x" * (MAX_FILE_BYTES + 1), "Ensure this value has at most 1048576 characters"),
    ],
)
def test_editor_refuses_bad_xml_and_lists_the_problems(
    admin: Client, shipped: None, xml: str, message: str
) -> None:
    version = ProcessVersion.objects.get(definition__key="invoice_approval")
    response = admin.post(edit_url(version, "invoice_approval.bpmn"), {"xml": xml})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert ProcessVersion.objects.count() == 3


def test_editor_refuses_an_invalid_model_with_element_ids(admin: Client, shipped: None) -> None:
    version = ProcessVersion.objects.get(definition__key="invoice_approval")
    source = ProcessSource.objects.get(version=version).text
    broken = source.replace('targetRef="check_arithmetic"', 'targetRef="missing_task"')
    response = admin.post(edit_url(version, "invoice_approval.bpmn"), {"xml": broken})
    assert response.status_code == 400
    assert "element <code>flow_factual_ok</code>" in response.content.decode()
    assert ProcessVersion.objects.count() == 3


def test_a_body_over_the_form_limit_is_refused(admin: Client, shipped: None) -> None:
    version = ProcessVersion.objects.get(definition__key="invoice_approval")
    response = admin.post(
        edit_url(version, "invoice_approval.bpmn"), {"xml": "x" * (3 * 1024 * 1024)}
    )
    assert response.status_code == 400  # Django refuses the body before the view runs
    assert ProcessVersion.objects.count() == 3


def test_deploying_needs_the_csrf_token(admin_tree: Administration, shipped: None) -> None:
    version = ProcessVersion.objects.get(definition__key="invoice_approval")
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    from tests.conftest import strong_login

    strong_login(client, admin_tree.monitor)
    source = ProcessSource.objects.get(version=version).text.replace("Invoice received", "Neu")
    assert (
        client.post(edit_url(version, "invoice_approval.bpmn"), {"xml": source}).status_code == 403
    )
    assert ProcessVersion.objects.count() == 3


def test_running_instances_stay_on_their_version_after_an_upload(
    admin_tree: Administration, admin: Client
) -> None:
    deploy(admin_tree.municipality, ("s.bpmn", SIMPLE))
    running = services.instance_start(
        municipality=admin_tree.municipality, process_key="test_process"
    )
    upload(admin, ("s.bpmn", linear(user_task("other"))))
    assert ProcessInstance.objects.get(pk=running.pk).version.number == 1
    assert ProcessVersion.objects.get(is_default=True).number == 2
