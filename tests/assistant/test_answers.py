"""Answers over the real Munich catalogue, the CLI contract and the catalogue engine."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from rathaus.assistant import selectors
from rathaus.assistant.catalog_index import catalog_index
from rathaus.assistant.models import QuestionStat
from rathaus.assistant.services import lexicon_entry_save, question_record
from rathaus.catalog.models import Service
from rathaus.catalog.selectors import service_search
from rathaus.core.errors import ValidationFailed
from rathaus.core.models import Municipality

pytestmark = pytest.mark.django_db


def top(municipality: Municipality, question: str, n: int = 3) -> list[str]:
    return [
        r["service_id"]
        for r in selectors.assistant_rank(municipality=municipality, question=question, limit=n)
    ]


# Questions the issue names, plus everyday ones not in the dev set.
@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Perso verloren was tun", "Verlust oder Diebstahl Personalausweis"),
        ("we are moving here from Hamburg", "Wohnsitzanmeldung"),
        ("fuehrungszeugnis", "Führungszeugnis"),
        ("my daughter was born last week", "Geburt im Bundesgebiet"),
        ("Gewerbe abmelden", "Gewerbe-Abmeldung"),
        ("Anwohnerparkausweis beantragen", "Bewohnerparkausweis"),
        ("I need a certified copy of my diploma", "Beglaubigung von bis zu 5 Dokumenten"),
    ],
)
def test_everyday_questions_find_the_service(
    munich_catalog: object, municipality: Municipality, question: str, expected: str
) -> None:
    names = [
        Service.objects.get(municipality=municipality, source_id=sid).name_de
        for sid in top(municipality, question)
    ]
    assert expected in names


def test_answer_has_why_what_to_bring_fee_and_where(
    munich_catalog: object, municipality: Municipality
) -> None:
    answer = selectors.assistant_answer(
        municipality=municipality, question="Reisepass beantragen", language="de"
    )
    best = answer.results[0]
    assert best.service.name_de == "Reisepass"
    assert "Reisepass" in best.matched
    assert best.location is not None  # Munich offers it at its Bürgerbüros
    assert best.online_mode in {choice.value for choice in Service.OnlineMode}
    assert isinstance(best.documents, list)
    assert isinstance(best.fees, list)


def test_close_answers_ask_which_one_is_meant(
    munich_catalog: object, municipality: Municipality
) -> None:
    answer = selectors.assistant_answer(
        municipality=municipality, question="Ausweis verloren", language="de", details=False
    )
    assert len(answer.clarify) >= 2
    names = {item.service.name_de for item in answer.clarify}
    assert "Verlust oder Diebstahl Personalausweis" in names


@pytest.mark.parametrize("question", ["", "   ", "\x00\x01\x02", "?!?", "x" * 1001, None, 42])
def test_hostile_questions_are_refused_clearly(
    municipality: Municipality, question: object
) -> None:
    with pytest.raises(ValidationFailed):
        selectors.assistant_answer(municipality=municipality, question=question, language="de")  # type: ignore[arg-type]


def test_script_injection_is_only_text(munich_catalog: object, municipality: Municipality) -> None:
    answer = selectors.assistant_answer(
        municipality=municipality, question="<script>alert('Reisepass')</script>", language="de"
    )
    assert answer.results[0].service.name_de == "Reisepass"


def test_cli_ask_json_contract(munich_catalog: object, municipality: Municipality) -> None:
    out = StringIO()
    call_command("assistant", "ask", "fahrzeugschein verlohren", "--json", stdout=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    data = json.loads(lines[0])
    assert data["q"] == "fahrzeugschein verlohren"
    assert data["results"][0]["service_id"] == "1064275"  # the DLDB id
    scores = [item["score"] for item in data["results"]]
    assert scores == sorted(scores, reverse=True)
    assert all(isinstance(score, float) for score in scores)


def test_cli_batch_keeps_order_and_empty_lines(
    munich_catalog: object, municipality: Municipality, tmp_path: Path
) -> None:
    batch = tmp_path / "questions.txt"
    batch.write_text("Reisepass\n\nWaffenschein\n\x00\xff binary\n", encoding="utf-8")
    out = StringIO()
    call_command("assistant", "ask", "--json", "--batch", str(batch), stdout=out)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [row["q"] for row in rows] == ["Reisepass", "", "Waffenschein", "\x00\xff binary"]
    assert (
        rows[0]["results"][0]["service_id"] == "10225205"
        or rows[0]["results"][0]["name"] == "Reisepass"
    )
    assert rows[1]["results"] == []
    assert "Waffenschein" in rows[2]["results"][0]["name"]


def test_cli_errors(municipality: Municipality, tmp_path: Path) -> None:
    with pytest.raises(CommandError):
        call_command("assistant", "ask", "--json", "--batch", str(tmp_path / "missing.txt"))
    with pytest.raises(CommandError):
        call_command("assistant", "ask", "--json")
    with pytest.raises(CommandError):
        call_command("assistant", "ask", "x", "--municipality", "nowhere")


def test_catalogue_search_can_use_the_assistant(
    munich_catalog: object, municipality: Municipality, settings: object
) -> None:
    settings.RATHAUS_CATALOG_SEARCH_ENGINE = "rathaus.assistant.search.AssistantSearch"  # type: ignore[attr-defined]
    hits = service_search(municipality=municipality, query="Perso verloren", language="en", limit=5)
    assert hits[0].name == "Verlust oder Diebstahl Personalausweis"
    assert hits[0].source_id
    assert service_search(municipality=municipality, query="  ", language="de", limit=5) == []


def test_index_is_rebuilt_when_services_or_lexicon_change(
    munich_catalog: object, municipality: Municipality
) -> None:
    first = catalog_index(municipality)
    assert catalog_index(municipality) is first
    assert top(municipality, "Amtsschimmel") == []
    lexicon_entry_save(
        municipality=municipality, actor=None, terms="Amtsschimmel", expansions="Führungszeugnis"
    )
    assert catalog_index(municipality) is not first
    assert (
        top(municipality, "Amtsschimmel")[0]
        == Service.objects.get(municipality=municipality, name_de="Führungszeugnis").source_id
    )
    service = Service.objects.get(municipality=municipality, name_de="Führungszeugnis")
    service.is_public = False
    service.save()
    assert service.source_id not in top(municipality, "Führungszeugnis", 10)


def test_other_tenants_services_are_never_answered(
    munich_catalog: object, municipality: Municipality, other_municipality: Municipality
) -> None:
    assert top(other_municipality, "Reisepass") == []


def test_statistics_keep_no_personal_data(
    munich_catalog: object, municipality: Municipality
) -> None:
    question = "Ich bin Max Muster, max@example.org, 0171 1234567, Reisepass verloren"
    answer = selectors.assistant_answer(
        municipality=municipality, question=question, language="de", details=False
    )
    question_record(municipality=municipality, answer=answer, channel=QuestionStat.Channel.KIOSK)
    question_record(municipality=municipality, answer=answer, channel=QuestionStat.Channel.KIOSK)
    stat = QuestionStat.objects.get()
    assert stat.count == 2
    assert "@" not in stat.words
    assert not any(ch.isdigit() for ch in stat.words)
    assert "reisepass" in stat.words
    assert stat.answered
