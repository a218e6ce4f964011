"""The read-only public API: published questions, statistics, one error shape, tenancy;
responses are validated against the generated OpenAPI schema."""

from typing import Any

import jsonschema
import pytest
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

from rathaus.core.models import Municipality
from rathaus.fragdenob import services
from tests.fragdenob.factories import DistrictFactory, QuestionFactory, SupportFactory, TopicFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/fragdenob/questions/"
STATISTICS = "/api/v1/fragdenob/statistics/"


def _nullable(node: Any) -> Any:
    """OpenAPI 3.0's ``nullable`` as JSON Schema's null type."""
    if isinstance(node, dict):
        node = {key: _nullable(value) for key, value in node.items()}
        if node.pop("nullable", False):
            if "type" in node:
                node["type"] = [node["type"], "null"]
            else:
                node = {"anyOf": [node, {"type": "null"}]}
        return node
    if isinstance(node, list):
        return [_nullable(item) for item in node]
    return node


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    return _nullable(SchemaGenerator().get_schema(request=None, public=True))


def conforms(openapi: dict[str, Any], path: str, body: Any) -> None:
    operation = openapi["paths"][path]["get"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    jsonschema.validate(body, {**schema, "components": openapi["components"]})


def test_list_shows_published_questions_with_supporters(
    client: Client, municipality: Municipality, openapi: dict[str, Any]
) -> None:
    traffic = TopicFactory(municipality=municipality, slug="verkehr")
    north = DistrictFactory(municipality=municipality, slug="nord")
    question = QuestionFactory(
        municipality=municipality, topic=traffic, district=north, published=True, title="<b>?</b>"
    )
    SupportFactory(question=question)
    QuestionFactory(municipality=municipality, topic=traffic)  # pending
    response = client.get(LIST, {"topic": "verkehr", "district": "nord"})
    assert response.status_code == 200
    body = response.json()
    conforms(openapi, "/api/v1/fragdenob/questions/", body)
    rows = body["results"] if isinstance(body, dict) else body
    assert [(r["id"], r["title"], r["supporters"], r["district"]) for r in rows] == [
        (question.pk, "<b>?</b>", 1, "nord")
    ]
    assert rows[0]["page_url"] == f"/frag-den-ob/{question.pk}/"


def test_detail_and_statistics(
    client: Client, municipality: Municipality, openapi: dict[str, Any]
) -> None:
    question = QuestionFactory(municipality=municipality, published=True)
    services.answer_publish(question=question, answer="Ja.")
    detail = client.get(f"{LIST}{question.pk}/").json()
    conforms(openapi, "/api/v1/fragdenob/questions/{question_id}/", detail)
    assert (detail["status"], detail["answer"]) == ("answered", "Ja.")
    figures = client.get(STATISTICS).json()
    conforms(openapi, STATISTICS, figures)
    assert (figures["published"], figures["answered"], figures["answer_rate"]) == (1, 1, 1.0)


def test_unpublished_and_foreign_questions_are_not_found(
    client: Client,
    other_client: Client,
    municipality: Municipality,
    other_municipality: Municipality,
) -> None:
    pending = QuestionFactory(municipality=municipality)
    published = QuestionFactory(municipality=municipality, published=True)
    response = client.get(f"{LIST}{pending.pk}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert other_client.get(f"{LIST}{published.pk}/").status_code == 404
    assert other_client.get(LIST).json()["results"] == []


@pytest.mark.parametrize(
    "query",
    [
        {"status": "pending"},
        {"order": "oldest"},
        {"topic": "not a slug!"},
        {"q": "x" * 201},
        {"q": "a\x00b"},
    ],
)
def test_bad_parameters_get_the_one_error_shape(
    client: Client, municipality: Municipality, query: dict[str, str]
) -> None:
    response = client.get(LIST, query)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert set(error["fields"]) == set(query)


def test_a_parameter_given_twice_is_an_error(client: Client, municipality: Municipality) -> None:
    assert client.get(LIST + "?topic=a&topic=b").status_code == 400


def test_the_api_is_read_only(client: Client, municipality: Municipality) -> None:
    assert client.post(LIST, {"title": "Frage?"}).status_code == 405
