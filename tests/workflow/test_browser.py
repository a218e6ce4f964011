"""The workflow pages in a real Chromium: the inbox and a task's completion (axe-checked in
German and English), the diagram editor (bpmn-js, dmn-js) deploying a new version, and
the instance viewer's markers, under the real Content-Security-Policy."""

from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from rathaus.workflow import services
from rathaus.workflow.models import ProcessInstance, ProcessSource, ProcessVersion, UserTask
from tests.browser.conftest import axe_violations
from tests.conftest import strong_login
from tests.workflow.conftest import Administration, HandlerLog, open_task
from tests.workflow.factories import deploy, linear, user_task

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FORM = user_task(
    "enter",
    fields=(
        '<rathaus:field id="amount" type="integer" label="Betrag" required="true" min="0"/>'
        '<rathaus:field id="ok" type="boolean" label="Geprüft" required="true"/>'
        '<rathaus:field id="kind" type="enum" label="Art">'
        '<rathaus:option value="a" label="Erstantrag"/>'
        '<rathaus:option value="b" label="Folgeantrag"/>'
        "</rathaus:field>"
        '<rathaus:field id="note" type="text" label="Vermerk" help="Für die Akte"/>'
    ),
    extra=(
        '<rathaus:candidates orgUnit="FB 1" role="sachbearbeitung"/>'
        '<rathaus:dueDate>"P3D"</rathaus:dueDate>'
    ),
)

# Collects Content-Security-Policy violations the page reports.
CSP_WATCH = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', function (event) {
  window.__cspViolations.push(event.violatedDirective + ' ' + (event.sourceFile || ''));
});
"""


def _session_cookie(user: object, base: str) -> dict[str, str]:
    """A session made by Django (with a second factor), for the browser."""
    client = Client()
    strong_login(client, user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    return {"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": base}


def _sign_in(page: Any, base: str, user: object) -> None:
    page.context.add_cookies([_session_cookie(user, base)])


def _strict_page(browser: Any, base: str, user: object) -> Any:
    """A page that obeys the site's CSP (the ``page`` fixture bypasses it for axe-core)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    context.add_cookies(
        [_session_cookie(user, base), {"name": "rathaus_language", "value": "en", "url": base}]
    )
    context.add_init_script(CSP_WATCH)
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


@pytest.mark.parametrize("language", ["de", "en"])
def test_inbox_and_task_completion_are_axe_clean(
    page: Any, live_server: Any, admin_tree: Administration, language: str
) -> None:
    base = live_server.url
    deploy(admin_tree.municipality, ("form.bpmn", linear(FORM)))
    instance = services.instance_start(
        municipality=admin_tree.municipality, process_key="test_process"
    )
    task = open_task(instance, "enter")
    page.context.add_cookies([{"name": "rathaus_language", "value": language, "url": base}])
    _sign_in(page, base, admin_tree.clerk)
    found: dict[str, list[dict[str, object]]] = {}

    def check(name: str) -> None:
        assert page.locator("html").get_attribute("lang") == language
        assert page.locator("h1").count() == 1
        found[name] = axe_violations(page)

    # The inbox lists the task; the filter works (with htmx) and keeps the page usable
    page.goto(base + reverse("workflow:inbox"))
    check("inbox")
    page.locator("#id_zeigen").select_option("overdue")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**zeigen=overdue**")
    assert page.locator("#inbox-results tbody tr").count() == 0
    check("inbox overdue")
    page.locator("#id_zeigen").select_option("all")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**zeigen=all**")
    page.locator(f'a[href="{reverse("workflow:task_detail", args=[task.pk])}"]').click()
    page.wait_for_load_state()
    check("task")
    # Sent empty, the form shows linked errors
    page.locator(
        f'form[action="{reverse("workflow:task_complete", args=[task.pk])}"] button'
    ).click()
    page.wait_for_load_state()
    assert page.locator("#id_f-amount").get_attribute("aria-invalid") == "true"
    assert "id_f-amount_error" in (
        page.locator("#id_f-amount").get_attribute("aria-describedby") or ""
    )
    check("task with errors")
    # A comment goes in through htmx
    page.locator("#id_comment-text").fill("Unterlagen liegen vor.")
    page.locator("#kommentare button[type=submit]").click()
    page.locator("#kommentare .comment-list li").wait_for()
    check("task with comment")
    # Filled in, it completes and the inbox is empty again
    page.locator("#id_f-amount").fill("250")
    page.locator("#id_f-ok").select_option("true")
    page.locator("#id_f-kind").select_option("b")
    page.locator(
        f'form[action="{reverse("workflow:task_complete", args=[task.pk])}"] button'
    ).click()
    page.wait_for_url(f"{base}{reverse('workflow:inbox')}")
    assert page.locator(".messages").count() == 1
    check("inbox after completing")
    task.refresh_from_db()
    instance.refresh_from_db()
    assert (task.status, instance.state) == ("completed", "completed")
    assert instance.variables["amount"] == 250
    assert instance.variables["kind"] == "b"
    assert {name: v for name, v in found.items() if v} == {}


def test_modeller_renames_an_element_and_deploys_a_new_version(
    browser: Any, live_server: Any, admin_tree: Administration, shipped: None
) -> None:
    base = live_server.url
    version = ProcessVersion.objects.get(definition__key="mayor_question")
    running = services.instance_start(
        municipality=admin_tree.municipality, process_key="mayor_question"
    )
    page = _strict_page(browser, base, admin_tree.monitor)
    page.goto(base + reverse("workflow:version_edit", args=[version.pk, "mayor_question.bpmn"]))
    page.locator("#modeller-form[data-ready=true]").wait_for()
    # bpmn-js shows the shipped model (it has a layout) with its watermark
    assert page.locator('#modeller-canvas [data-element-id="draft_answer"]').count() == 1
    assert page.locator("#modeller-canvas .bjs-powered-by").is_visible()
    assert page.locator("#id_xml").is_hidden()
    # When the administrator renames a task through the modeller
    page.evaluate(
        """() => {
            const modeller = window.rathausModeller;
            const task = modeller.get('elementRegistry').get('draft_answer');
            modeller.get('modeling').updateLabel(task, 'Antwort entwerfen');
        }"""
    )
    page.locator("#deploy-button").click()
    page.wait_for_url("**/verwaltung/prozesse/versionen/**")
    # Then version 2 exists, keeps the rathaus extensions, and new cases use it
    new = ProcessVersion.objects.get(definition__key="mayor_question", number=2)
    assert page.url == base + reverse("workflow:version_detail", args=[new.pk])
    text = ProcessSource.objects.get(version=new).text
    assert 'name="Antwort entwerfen"' in text
    assert "<rathaus:form>" in text
    assert '<spiffworkflow:serviceTaskOperator id="fragdenob.publish_answer"' in text
    assert new.is_default
    assert new.metadata["forms"]["draft_answer"][0]["name"] == "answer"
    assert ProcessInstance.objects.get(pk=running.pk).version_id == version.pk
    fresh = services.instance_start(
        municipality=admin_tree.municipality, process_key="mayor_question"
    )
    assert fresh.version_id == new.pk
    assert page.evaluate("window.__cspViolations") == []
    page.context.close()


def test_decision_table_editor_deploys_what_dmn_js_writes(
    browser: Any, live_server: Any, admin_tree: Administration, shipped: None, handlers: HandlerLog
) -> None:
    base = live_server.url
    version = ProcessVersion.objects.get(definition__key="generic_application")
    page = _strict_page(browser, base, admin_tree.monitor)
    page.goto(
        base + reverse("workflow:version_edit", args=[version.pk, "application_decision.dmn"])
    )
    page.locator("#modeller-form[data-ready=true]").wait_for()
    assert page.locator(".tjs-table").count() == 1
    assert page.locator("#modeller-canvas .bjs-powered-by").count() == 1
    page.locator("#deploy-button").click()
    page.wait_for_url("**/verwaltung/prozesse/versionen/**")
    new = ProcessVersion.objects.get(definition__key="generic_application", number=2)
    assert "application_decision" in new.sources.get(kind="dmn").text
    # The table dmn-js wrote still decides
    instance = services.instance_start(
        municipality=admin_tree.municipality, process_key="generic_application"
    )
    services.user_task_complete(
        task=open_task(instance, "check_completeness"),
        user=admin_tree.clerk,
        data={"complete": True, "requirements_met": "yes", "missing_documents": ""},
    )
    instance.refresh_from_db()
    assert instance.variables["decision"] == "approve"
    assert page.evaluate("window.__cspViolations") == []
    page.context.close()


def test_instance_viewer_marks_done_and_current_elements(
    browser: Any, page: Any, live_server: Any, admin_tree: Administration, shipped: None
) -> None:
    base = live_server.url
    instance = services.instance_start(
        municipality=admin_tree.municipality,
        process_key="invoice_approval",
        variables={"ordering_unit": "FB 2", "invoice_number": "R-7"},
    )
    services.user_task_complete(
        task=open_task(instance, "check_factual"),
        user=admin_tree.finance,
        data={"factually_correct": True},
    )
    url = base + reverse("workflow:instance_detail", args=[instance.pk])
    # Under the site's strict policy, the viewer draws the markers
    strict = _strict_page(browser, base, admin_tree.monitor)
    strict.goto(url)
    strict.locator("#diagram[data-ready=true]").wait_for()
    assert strict.locator(".djs-element.wf-current").count() == 1
    assert (
        strict.locator('.djs-element.wf-current[data-element-id="check_arithmetic"]').count() == 1
    )
    assert strict.locator(".djs-element.wf-done").count() == 3
    assert strict.locator(".bjs-powered-by").is_visible()
    assert strict.evaluate("window.__cspViolations") == []
    strict.context.close()
    # And the monitoring pages are axe-clean
    _sign_in(page, base, admin_tree.monitor)
    found = {}
    for name in ("workflow:monitoring", "workflow:instance_list", "workflow:process_list"):
        page.goto(base + reverse(name))
        found[name] = axe_violations(page)
    page.goto(url)
    page.locator("#diagram[data-ready=true]").wait_for()
    found["viewer"] = axe_violations(page)
    task = UserTask.objects.get(instance=instance, status="open")
    assert task.element_id == "check_arithmetic"
    assert {name: v for name, v in found.items() if v} == {}
