"""Frag den OB in Chromium, axe-checked on every page, in German and English: a citizen
asks and sees a duplicate suggestion while typing, submits; a moderator rejects with a
codex rule, the citizen rephrases, it is published; another citizen supports it; the
mayor's office routes it, the department drafts, the mayor approves; the asker gets
the e-mail; the statistics show the answer and its time; an election freeze blocks new
questions."""

from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from rathaus.accounts.models import User
from rathaus.fragdenob.models import CodexRule, Question, Support
from rathaus.workflow import services as workflow
from rathaus.workflow.models import ServiceJob
from tests.browser.conftest import axe_violations
from tests.conftest import SmtpSink
from tests.factories import PASSWORD
from tests.fragdenob.conftest import Dialogue, make_citizen
from tests.fragdenob.factories import QuestionFactory, TopicFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _clean(page: Any, found: dict[str, Any]) -> None:
    found[page.url] = axe_violations(page)


def _login(page: Any, base: str, user: User) -> None:
    page.context.clear_cookies()
    page.context.add_cookies([{"name": "rathaus_language", "value": page.lang, "url": base}])
    page.goto(base + "/anmelden/")
    page.locator("#id_username").fill(user.email)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_load_state()


def _submit(page: Any, selector: str = "main form button[type=submit]") -> None:
    page.locator(selector).last.click()
    page.wait_for_load_state()


def _task(page: Any, base: str, question: Question, element: str, found: dict[str, Any]) -> None:
    from rathaus.workflow.models import UserTask

    task = UserTask.objects.get(
        instance_id=question.workflow_instance_id, element_id=element, status="open"
    )
    page.goto(f"{base}/verwaltung/aufgaben/{task.pk}/")
    _clean(page, found)


@pytest.mark.parametrize("language", ["de", "en"])
def test_ask_moderate_support_answer_and_freeze(
    office_hours: None,
    page: Any,
    live_server: Any,
    dialogue: Dialogue,
    smtp_server: SmtpSink,
    language: str,
) -> None:
    base = live_server.url
    page.lang = language
    found: dict[str, Any] = {}
    municipality = dialogue.municipality
    topic = TopicFactory(municipality=municipality, slug="verkehr", name_de="Verkehr")
    asker = make_citizen(municipality, email="erika@example.org", language=language)
    supporter = make_citizen(municipality, email="max@example.org")
    existing = QuestionFactory(
        municipality=municipality,
        topic=topic,
        published=True,
        title="Wann wird der Radweg in der Bahnhofstraße gebaut?",
    )

    # The citizen asks; while typing a similar published question is suggested
    _login(page, base, asker)
    page.goto(base + "/frag-den-ob/")
    _clean(page, found)
    page.goto(base + "/frag-den-ob/fragen/")
    page.locator("#id_title").press_sequentially("Radweg Bahnhofstraße")
    suggestion = page.locator(f'#fdob-similar a[href="/frag-den-ob/{existing.pk}/"]')
    suggestion.wait_for()
    _clean(page, found)
    page.locator("#id_title").fill("Warum ist der Bürgermeister beim Radweg so ein Versager?")
    page.locator("#id_topic").select_option(str(topic.pk))
    _submit(page)
    if Question.objects.count() == 1:  # the similar questions were listed: confirm
        _clean(page, found)
        _submit(page)
    question = Question.objects.exclude(pk=existing.pk).get()
    assert page.url.endswith(f"/frag-den-ob/meine/{question.pk}/")
    _clean(page, found)

    # The moderator rejects it with a rule of the codex and a note
    _login(page, base, dialogue.moderator)
    page.goto(base + "/verwaltung/frag-den-ob/")
    _clean(page, found)
    page.locator(f'main a[href="/verwaltung/frag-den-ob/{question.pk}/"]').click()
    page.wait_for_load_state()
    _clean(page, found)
    page.locator("#id_action_1").check()
    insult = CodexRule.objects.get(municipality=municipality, key="insult")
    page.locator("#id_rule").select_option(str(insult.pk))
    page.locator("#id_note").fill("Bitte ohne Beleidigung fragen.")
    _submit(page)
    question.refresh_from_db()
    assert question.status == "rejected"

    # The citizen sees why, rephrases and sends it again; the moderator publishes it
    _login(page, base, asker)
    page.goto(f"{base}/frag-den-ob/meine/{question.pk}/")
    assert "Bitte ohne Beleidigung fragen." in page.locator("main").inner_text()
    _clean(page, found)
    page.locator("#id_title").fill(
        "Wann ist der Radweg in der Bahnhofstraße durchgehend befahrbar?"
    )
    _submit(page)
    _login(page, base, dialogue.moderator)
    page.goto(f"{base}/verwaltung/frag-den-ob/{question.pk}/")
    page.locator("#id_action_0").check()
    _submit(page)
    question.refresh_from_db()
    assert question.status == "published"

    # Another citizen supports it
    _login(page, base, supporter)
    page.goto(f"{base}/frag-den-ob/{question.pk}/")
    _clean(page, found)
    page.locator(f'main form[action="/frag-den-ob/{question.pk}/unterstuetzen/"] button').click()
    page.wait_for_load_state()
    assert Support.objects.filter(question=question, user=supporter).exists()
    _clean(page, found)

    # The office routes it to FB 3, the department drafts, the mayor approves
    _login(page, base, dialogue.office)
    _task(page, base, question, "assign_department", found)
    page.locator("#id_f-department").fill("FB 3")
    _submit(page, 'main form[action$="/erledigen/"] button[type=submit]')
    _login(page, base, dialogue.clerk)
    _task(page, base, question, "draft_answer", found)
    page.locator("#id_f-answer").fill("Der Lückenschluss ist im Mai 2027 fertig.")
    _submit(page, 'main form[action$="/erledigen/"] button[type=submit]')
    _login(page, base, dialogue.mayor)
    _task(page, base, question, "approve_answer", found)
    page.locator("#id_f-approved").select_option("true")
    _submit(page, 'main form[action$="/erledigen/"] button[type=submit]')
    now = timezone.now()
    for job in ServiceJob.objects.filter(status="pending").values_list("pk", flat=True):
        assert workflow.service_job_run(job_id=job, now=now) == "succeeded"
    call_command("db_worker", batch=True, interval=0, verbosity=0)
    question.refresh_from_db()
    assert question.status == "answered"

    # The asker gets the e-mail with the answer
    mails = [m for m in smtp_server.messages if m["To"] == "erika@example.org"]
    bodies = [m.get_payload(decode=True).decode() for m in mails]
    assert any("Der Lückenschluss ist im Mai 2027 fertig." in body for body in bodies)

    # The public page and the statistics show the answer and the time it took
    page.goto(f"{base}/frag-den-ob/{question.pk}/")
    assert "Der Lückenschluss ist im Mai 2027 fertig." in page.locator("main").inner_text()
    _clean(page, found)
    page.goto(base + "/frag-den-ob/statistik/")
    figures = page.locator("main dl").inner_text()
    # answered within the same day (office_hours: the run does not cross midnight)
    assert "0,0" in figures or "0.0" in figures
    assert "100 %" in figures
    _clean(page, found)
    page.goto(base + "/frag-den-ob/kodex/")
    _clean(page, found)

    # The office sets an election freeze: new questions are refused with the reason
    _login(page, base, dialogue.office)
    page.goto(base + "/verwaltung/frag-den-ob/wahlruhe/")
    _clean(page, found)
    today = timezone.localdate().isoformat()
    page.locator("#id_starts_on").fill(today)
    page.locator("#id_ends_on").fill(today)
    page.locator("#id_reason").fill("Oberbürgermeisterwahl")
    _submit(page)
    _login(page, base, asker)
    page.goto(base + "/frag-den-ob/fragen/")
    assert "Oberbürgermeisterwahl" in page.locator("main").inner_text()
    assert page.locator("#id_title").count() == 0
    _clean(page, found)

    assert {url: v for url, v in found.items() if v} == {}
