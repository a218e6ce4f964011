"""The form schema: bad schemas are refused with their place; every field type and group
cardinality renders and validates with field-level errors."""

import copy
from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import translation

from rathaus.applications import formschema
from rathaus.applications.formschema import PageForm, SchemaInvalid, schema_validate
from tests.applications.factories import full_schema, simple_schema


def problems_of(schema: Any) -> list[str]:
    with pytest.raises(SchemaInvalid) as caught:
        schema_validate(schema)
    return caught.value.problems


def test_the_sample_schemas_are_valid() -> None:
    assert schema_validate(full_schema()) == full_schema()
    assert schema_validate(simple_schema()) == simple_schema()


def field(**overrides: Any) -> dict[str, Any]:
    schema = simple_schema()
    schema["pages"][0]["fields"][0].update(overrides)
    return schema


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ([], "The schema must be a JSON object."),
        ({"title_de": "x", "pages": []}, "pages must be a list of 1 to 20 pages."),
        ({**simple_schema(), "extra": 1}, "Unknown keys: extra."),
        ({**simple_schema(), "title_de": ""}, "title_de is required (at most 200 characters)."),
        (field(id="Name"), "pages[0].fields[0]: id must start with a lower-case letter"),
        (field(id="a__b"), "pages[0].fields[0]: id must start with a lower-case letter"),
        (field(id="csrfmiddlewaretoken"), "pages[0].fields[0] (csrfmiddlewaretoken): this id"),
        (field(type="blob"), "pages[0].fields[0] (name): type must be one of text, date"),
        (field(label_de=""), "pages[0].fields[0] (name): label_de is required"),
        (field(required="yes"), "pages[0].fields[0] (name): required must be true or false."),
        (
            field(constraints={"max_length": 5, "min_length": 9}),
            "pages[0].fields[0] (name): min_length is larger than max_length.",
        ),
        (
            field(constraints={"max_length": 10**6}),
            "pages[0].fields[0] (name): max_length must be a whole number from 0 to 10000.",
        ),
        (
            field(constraints={"pattern": "("}),
            "pages[0].fields[0] (name): pattern is not a valid regular expression",
        ),
        (
            field(constraints={"min": 1}),
            "pages[0].fields[0] (name): unknown constraints for type text: min.",
        ),
        (
            field(type="date", constraints={"min_date": "gestern"}),
            'pages[0].fields[0] (name): min_date must be a date (YYYY-MM-DD) or "today".',
        ),
        (
            field(type="date", constraints={"min_date": "2020-01-02", "max_date": "2020-01-01"}),
            "pages[0].fields[0] (name): min_date is after max_date.",
        ),
        (
            field(type="integer", constraints={"min": 1.5}),
            "pages[0].fields[0] (name): min must be a number.",
        ),
        (
            field(type="currency", constraints={"min": 10, "max": 1}),
            "pages[0].fields[0] (name): min is larger than max.",
        ),
        (field(type="select"), "pages[0].fields[0] (name): a select field needs either options"),
        (
            field(type="select", code_list="iso.nope"),
            "pages[0].fields[0] (name): unknown code list iso.nope",
        ),
        (
            field(
                type="select",
                options=[{"value": "a", "label_de": "A"}, {"value": "a", "label_de": "B"}],
            ),
            "pages[0].fields[0] (name).options[1]: the value a appears twice.",
        ),
        (
            field(options=[{"value": "a", "label_de": "A"}]),
            "pages[0].fields[0] (name): only a select field has options or a code list.",
        ),
        (
            field(type="file", constraints={"max_files": 50}),
            "pages[0].fields[0] (name): max_files must be a whole number from 1 to 10.",
        ),
        (
            field(
                type="group", min=3, max=1, fields=[{"id": "x", "type": "text", "label_de": "X"}]
            ),
            "pages[0].fields[0] (name): a group needs 0 <= min <= max <= 20 and max >= 1.",
        ),
        (
            field(type="group", fields=[{"id": "f", "type": "file", "label_de": "F"}]),
            "pages[0].fields[0] (name).fields[0]: file fields cannot be inside a group.",
        ),
        (
            field(
                type="group",
                fields=[{"id": "g", "type": "group", "label_de": "G", "fields": []}],
            ),
            "pages[0].fields[0] (name).fields[0] (g): groups cannot be nested.",
        ),
        (
            {**simple_schema(), "fee": {"quantity_field": "name"}},
            "fee.quantity_field must name an integer field or a group.",
        ),
    ],
)
def test_bad_schemas_are_refused_with_the_place_of_the_problem(schema: Any, expected: str) -> None:
    problems = problems_of(schema)
    assert any(problem.startswith(expected) for problem in problems), problems


def test_duplicate_ids_are_found_across_pages_and_groups() -> None:
    schema = full_schema()
    schema["pages"][1]["fields"][0]["fields"][0]["id"] = "name"
    assert problems_of(schema) == [
        "pages[1].fields[0] (hunde).fields[0] (name): the id is used twice."
    ]


def test_all_problems_are_reported_at_once() -> None:
    schema = copy.deepcopy(simple_schema())
    schema["title_de"] = ""
    schema["pages"][0]["fields"][0]["type"] = "blob"
    assert len(problems_of(schema)) == 2


def test_an_oversized_schema_is_refused_before_anything_else() -> None:
    schema = simple_schema()
    schema["pages"][0]["fields"][0]["help_de"] = "x" * 300_000
    assert problems_of(schema) == ["The schema is larger than 256 KB."]


# --- rendering and validation -------------------------------------------------------------


def page(number: int = 0) -> dict[str, Any]:
    return full_schema()["pages"][number]


GOOD_1 = {
    "name": "Erika Mustermann",
    "plz": "71634",
    "geboren": "1964-08-12",
    "land": "BW",
    "einverstanden": "on",
}


def test_valid_input_gives_canonical_values() -> None:
    form = PageForm(page(0), data=GOOD_1)
    assert form.is_valid(), form.errors
    assert form.values() == {
        "name": "Erika Mustermann",
        "plz": "71634",
        "geboren": "1964-08-12",
        "land": "BW",
        "einverstanden": True,
    }


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": ""}, "name", "This field is required."),
        ({"name": "E"}, "name", "Ensure this value has at least 2 characters (it has 1)."),
        ({"name": "x" * 101}, "name", "Ensure this value has at most 100 characters (it has 101)."),
        ({"plz": "7163"}, "plz", "Five digits, e.g. 71634."),
        ({"plz": "71634x"}, "plz", "Five digits, e.g. 71634."),
        ({"geboren": "12.13.1964"}, "geboren", "Enter a valid date."),
        ({"geboren": "1899-12-31"}, "geboren", "The date must not be before 1900-01-01."),
        (
            {"geboren": (date.today() + timedelta(days=2)).isoformat()},
            "geboren",
            "The date must not be after",
        ),
        ({"land": "XX"}, "land", "Select a valid choice. XX is not one of the available choices."),
        ({"einverstanden": ""}, "einverstanden", "This field is required."),
    ],
)
def test_invalid_input_gives_a_field_level_error(
    changes: dict[str, str], field: str, message: str
) -> None:
    with translation.override("en"):
        form = PageForm(page(0), data={**GOOD_1, **changes})
        assert not form.is_valid()
        assert list(form.errors) == [field]
        assert form.errors[field][0].startswith(message)


def test_german_dates_and_decimal_commas_are_understood() -> None:
    data = {
        "_count_hunde": "1",
        "hunde__0__hundename": "Bello",
        "hunde__0__rasse": "dackel",
        "hunde__0__gewicht": "9,5",
        "hunde__0__alter": "4",
        "spende": "12,50",
    }
    form = PageForm(page(1), data=data, counts={"hunde": 1}, documents={"nachweis": 1})
    assert form.is_valid(), form.errors
    assert form.values() == {
        "hunde": [{"hundename": "Bello", "rasse": "dackel", "gewicht": "9.5", "alter": 4}],
        "spende": "12.50",
    }
    german = PageForm(page(0), data={**GOOD_1, "geboren": "12.08.1964"})
    assert german.is_valid()
    assert german.values()["geboren"] == "1964-08-12"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("hunde__0__gewicht", "1.234,5", "Enter a number like 12,50."),
        ("hunde__0__gewicht", "200", "Ensure this value is less than or equal to 120."),
        ("hunde__0__gewicht", "9,55", "Ensure that there are no more than 1 decimal place."),
        ("hunde__0__alter", "4,5", "Enter a whole number."),
        ("hunde__0__alter", "-1", "Ensure this value is greater than or equal to 0."),
        ("spende", "12,505", "Ensure that there are no more than 2 decimal places."),
        ("spende", "abc", "Enter a number like 12,50."),
    ],
)
def test_numbers_integers_and_amounts_are_checked(name: str, value: str, message: str) -> None:
    data = {
        "hunde__0__hundename": "Bello",
        "hunde__0__rasse": "dackel",
        name: value,
    }
    with translation.override("en"):
        form = PageForm(page(1), data=data, counts={"hunde": 1}, documents={"nachweis": 1})
        assert not form.is_valid()
        assert form.errors[name] == [message]


def test_group_cardinality_and_required_files_are_checked() -> None:
    with translation.override("en"):
        # Given no dog (at least one is required) and no proof uploaded
        form = PageForm(page(1), data={}, counts={"hunde": 0}, documents={})
        assert not form.is_valid()
        assert form.group_errors == {
            "hunde": ["Give between 1 and 3 entries."],
            "nachweis": ["Upload at least one file."],
        }
        assert form.non_field_errors() == ["Some entries are missing or not valid."]
        # And more files than allowed
        form = PageForm(
            page(1),
            data={"hunde__0__hundename": "Bello", "hunde__0__rasse": "dackel"},
            counts={"hunde": 1},
            documents={"nachweis": 3},
        )
        assert not form.is_valid()
        assert form.group_errors == {"nachweis": ["Upload at most 2 files here."]}


def test_a_group_renders_one_fieldset_per_entry_without_javascript() -> None:
    stored = {"hunde": [{"hundename": "Bello"}, {"hundename": "Luna"}]}
    form = PageForm(page(1), initial=stored)
    [(kind, group), (_k, _spende), (file_kind, _spec)] = form.blocks()
    assert (kind, file_kind) == ("group", "file")
    assert len(group.items) == 2
    assert group.can_add
    assert group.can_remove
    assert [bound.value() for bound in group.items[1]][:1] == ["Luna"]
    html = str(group.items[0][0])
    assert 'name="hunde__0__hundename"' in html


def test_post_counts_are_clamped_to_the_schema() -> None:
    assert formschema.post_counts(page(1), {"_count_hunde": "99"}) == {"hunde": 3}
    assert formschema.post_counts(page(1), {"_count_hunde": "x"}) == {"hunde": 1}
    assert formschema.post_counts(page(1), {"_count_hunde": "-5"}) == {"hunde": 0}


def test_labels_and_help_follow_the_language() -> None:
    with translation.override("en"):
        form = PageForm(page(0))
        assert form.fields["name"].label == "Name"
        assert form.fields["name"].help_text == "First and last name"
    with translation.override("de"):
        form = PageForm(page(0))
        assert form.fields["name"].help_text == "Vor- und Nachname"
        assert form.fields["land"].choices[1] == ("BW", "Baden-Württemberg")


# --- the documented JSON Schema agrees with the checker -------------------------------------


def documented_schema() -> dict[str, Any]:
    import json
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "application-forms.md").read_text()
    block = re.search(r"```json schema\n(.*?)\n```", text, re.S)
    assert block is not None
    loaded: dict[str, Any] = json.loads(block.group(1))
    return loaded


@pytest.mark.parametrize(
    ("valid", "schema"),
    [
        (True, full_schema()),
        (True, simple_schema()),
        (False, field(id="Name")),
        (False, field(type="blob")),
        (False, field(constraints={"min": 1, "unknown": 2})),
        (False, field(type="group", fields=[{"id": "f", "type": "file", "label_de": "F"}])),
        (False, {**simple_schema(), "extra": 1}),
        (False, field(id="a__b")),
    ],
)
def test_the_documented_json_schema_agrees_with_the_checker(
    valid: bool, schema: dict[str, Any]
) -> None:
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(documented_schema())
    Draft202012Validator.check_schema(documented_schema())
    assert validator.is_valid(schema) is valid
    if valid:
        schema_validate(schema)
    else:
        with pytest.raises(SchemaInvalid):
            schema_validate(schema)
