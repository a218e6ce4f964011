"""Application forms as data: checking a schema, and turning it into Django forms.

The schema format is documented (with a JSON Schema) in docs/application-forms.md. In
short: a form has pages; a page has fields; a field has an ``id``, a ``type`` (text,
date, boolean, number, integer, currency, select, file, group), German and English
labels and help texts, ``required`` and type-specific ``constraints``; a group holds
fields of its own and repeats ``min`` to ``max`` times. Modelled on FIM XDatenfelder.

``schema_validate`` refuses a bad schema with every problem at once. ``PageForm`` is the
Django form of one page: the same class renders the page, validates a citizen's input
with field-level errors and validates the whole application again at submission, so
there is exactly one set of rules.

Values are stored in a canonical JSON form: text and select as strings, dates as
``YYYY-MM-DD``, booleans as true/false, integers as numbers, numbers and currency
amounts as decimal strings (``"12.50"``), groups as lists of objects; file fields are
not in the data (their documents point to the field).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

FIELD_TYPES = ("text", "date", "boolean", "number", "integer", "currency", "select", "file")
GROUP = "group"
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_SCHEMA_BYTES = 256 * 1024
MAX_PAGES = 20
MAX_FIELDS = 200
MAX_OPTIONS = 500
MAX_GROUP_ITEMS = 20
MAX_LABEL = 200
MAX_HELP = 1000
MAX_TEXT_LENGTH = 10_000
DEFAULT_TEXT_LENGTH = 1000
MAX_PATTERN = 200
MAX_FILES_PER_FIELD = 10
MAX_AMOUNT = Decimal("100000000")
SEPARATOR = "__"

TOP_KEYS = {"title_de", "title_en", "pages", "fee"}
PAGE_KEYS = {"id", "title_de", "title_en", "fields"}
FIELD_KEYS = {
    "id",
    "type",
    "label_de",
    "label_en",
    "help_de",
    "help_en",
    "required",
    "constraints",
    "options",
    "code_list",
}
GROUP_KEYS = {"id", "type", "label_de", "label_en", "help_de", "help_en", "min", "max", "fields"}
FEE_KEYS = {"item", "quantity_field", "amount_field"}
CONSTRAINTS = {
    "text": {
        "min_length",
        "max_length",
        "pattern",
        "pattern_message_de",
        "pattern_message_en",
        "multiline",
    },
    "date": {"min_date", "max_date"},
    "boolean": set(),
    "number": {"min", "max", "decimal_places"},
    "integer": {"min", "max"},
    "currency": {"min", "max"},
    "select": set(),
    "file": {"max_files"},
}

# Code lists a select can name instead of listing its options (``"code_list": key``).
CODE_LISTS: dict[str, list[dict[str, str]]] = {
    "de.bundeslaender": [
        {"value": code, "label_de": name, "label_en": name}
        for code, name in (
            ("BW", "Baden-Württemberg"),
            ("BY", "Bayern"),
            ("BE", "Berlin"),
            ("BB", "Brandenburg"),
            ("HB", "Bremen"),
            ("HH", "Hamburg"),
            ("HE", "Hessen"),
            ("MV", "Mecklenburg-Vorpommern"),
            ("NI", "Niedersachsen"),
            ("NW", "Nordrhein-Westfalen"),
            ("RP", "Rheinland-Pfalz"),
            ("SL", "Saarland"),
            ("SN", "Sachsen"),
            ("ST", "Sachsen-Anhalt"),
            ("SH", "Schleswig-Holstein"),
            ("TH", "Thüringen"),
        )
    ],
    "fim.geschlecht": [
        {"value": "m", "label_de": "männlich", "label_en": "male"},
        {"value": "w", "label_de": "weiblich", "label_en": "female"},
        {"value": "d", "label_de": "divers", "label_en": "diverse"},
        {"value": "x", "label_de": "keine Angabe", "label_en": "not specified"},
    ],
}
# Control names of our pages start with "_", which ids cannot; these are Django's.
RESERVED_IDS = {"csrfmiddlewaretoken"}


class SchemaInvalid(Exception):
    """The schema has problems; ``problems`` lists each with its place."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


# --- checking a schema -----------------------------------------------------------------


def _text(value: Any, maximum: int) -> bool:
    return isinstance(value, str) and len(value) <= maximum


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _date_bound(value: Any) -> bool:
    if value == "today":
        return True
    if not isinstance(value, str):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


def _check_constraints(field: Mapping[str, Any], where: str, problems: list[str]) -> None:
    kind = field["type"]
    constraints = field.get("constraints", {})
    if not isinstance(constraints, dict):
        problems.append(_("%(where)s: constraints must be an object.") % {"where": where})
        return
    unknown = set(constraints) - CONSTRAINTS[kind]
    if unknown:
        problems.append(
            _("%(where)s: unknown constraints for type %(type)s: %(names)s.")
            % {"where": where, "type": kind, "names": ", ".join(sorted(unknown))}
        )
    if kind == "text":
        low, high = constraints.get("min_length", 0), constraints.get("max_length")
        for name in ("min_length", "max_length"):
            value = constraints.get(name)
            if value is not None and (
                not isinstance(value, int)
                or isinstance(value, bool)
                or value < 0
                or value > MAX_TEXT_LENGTH
            ):
                problems.append(
                    _("%(where)s: %(name)s must be a whole number from 0 to %(max)d.")
                    % {"where": where, "name": name, "max": MAX_TEXT_LENGTH}
                )
                return
        if high is not None and low > high:
            problems.append(
                _("%(where)s: min_length is larger than max_length.") % {"where": where}
            )
        pattern = constraints.get("pattern")
        if pattern is not None:
            if not _text(pattern, MAX_PATTERN):
                problems.append(
                    _("%(where)s: pattern must be text of at most %(max)d characters.")
                    % {"where": where, "max": MAX_PATTERN}
                )
            else:
                try:
                    re.compile(pattern)
                except re.error as error:
                    problems.append(
                        _("%(where)s: pattern is not a valid regular expression (%(error)s).")
                        % {"where": where, "error": error}
                    )
        for name in ("pattern_message_de", "pattern_message_en"):
            if name in constraints and not _text(constraints[name], MAX_LABEL):
                problems.append(
                    _("%(where)s: %(name)s must be text of at most %(max)d characters.")
                    % {"where": where, "name": name, "max": MAX_LABEL}
                )
        if "multiline" in constraints and not isinstance(constraints["multiline"], bool):
            problems.append(_("%(where)s: multiline must be true or false.") % {"where": where})
    elif kind == "date":
        for name in ("min_date", "max_date"):
            if name in constraints and not _date_bound(constraints[name]):
                problems.append(
                    _('%(where)s: %(name)s must be a date (YYYY-MM-DD) or "today".')
                    % {"where": where, "name": name}
                )
                return
        low, high = constraints.get("min_date"), constraints.get("max_date")
        if low and high and "today" not in (low, high) and low > high:
            problems.append(_("%(where)s: min_date is after max_date.") % {"where": where})
    elif kind in ("number", "integer", "currency"):
        for name in ("min", "max"):
            value = constraints.get(name)
            if value is None:
                continue
            if not _number(value) or (kind == "integer" and not isinstance(value, int)):
                problems.append(
                    _("%(where)s: %(name)s must be a number.") % {"where": where, "name": name}
                )
                return
            if abs(Decimal(str(value))) > MAX_AMOUNT:
                problems.append(
                    _("%(where)s: %(name)s is too large.") % {"where": where, "name": name}
                )
                return
        low, high = constraints.get("min"), constraints.get("max")
        if low is not None and high is not None and low > high:
            problems.append(_("%(where)s: min is larger than max.") % {"where": where})
        places = constraints.get("decimal_places")
        if places is not None and (
            not isinstance(places, int) or isinstance(places, bool) or not 0 <= places <= 6
        ):
            problems.append(
                _("%(where)s: decimal_places must be a whole number from 0 to 6.")
                % {"where": where}
            )
    elif kind == "file":
        count = constraints.get("max_files", 1)
        if (
            not isinstance(count, int)
            or isinstance(count, bool)
            or not 1 <= count <= MAX_FILES_PER_FIELD
        ):
            problems.append(
                _("%(where)s: max_files must be a whole number from 1 to %(max)d.")
                % {"where": where, "max": MAX_FILES_PER_FIELD}
            )


def _check_options(field: Mapping[str, Any], where: str, problems: list[str]) -> None:
    options, code_list = field.get("options"), field.get("code_list")
    if field["type"] != "select":
        if options is not None or code_list is not None:
            problems.append(
                _("%(where)s: only a select field has options or a code list.") % {"where": where}
            )
        return
    if (options is None) == (code_list is None):
        problems.append(
            _("%(where)s: a select field needs either options or a code list.") % {"where": where}
        )
        return
    if code_list is not None:
        if code_list not in CODE_LISTS:
            problems.append(
                _("%(where)s: unknown code list %(name)s (known: %(known)s).")
                % {"where": where, "name": str(code_list)[:80], "known": ", ".join(CODE_LISTS)}
            )
        return
    if not isinstance(options, list) or not 1 <= len(options) <= MAX_OPTIONS:
        problems.append(
            _("%(where)s: options must be a list of 1 to %(max)d entries.")
            % {"where": where, "max": MAX_OPTIONS}
        )
        return
    seen: set[str] = set()
    for index, option in enumerate(options):
        place = f"{where}.options[{index}]"
        if (
            not isinstance(option, dict)
            or set(option) - {"value", "label_de", "label_en"}
            or not _text(option.get("value"), 100)
            or not option.get("value")
            or not _text(option.get("label_de"), MAX_LABEL)
            or not option.get("label_de")
            or not _text(option.get("label_en", ""), MAX_LABEL)
        ):
            problems.append(
                _("%(where)s: an option needs a value (at most 100 characters) and label_de.")
                % {"where": place}
            )
            continue
        if option["value"] in seen:
            problems.append(
                _("%(where)s: the value %(value)s appears twice.")
                % {"where": place, "value": option["value"]}
            )
        seen.add(option["value"])


def _check_labels(item: Mapping[str, Any], where: str, problems: list[str]) -> None:
    if not item.get("label_de") or not _text(item.get("label_de"), MAX_LABEL):
        problems.append(
            _("%(where)s: label_de is required (at most %(max)d characters).")
            % {"where": where, "max": MAX_LABEL}
        )
    if not _text(item.get("label_en", ""), MAX_LABEL):
        problems.append(
            _("%(where)s: label_en may have at most %(max)d characters.")
            % {"where": where, "max": MAX_LABEL}
        )
    for name in ("help_de", "help_en"):
        if not _text(item.get(name, ""), MAX_HELP):
            problems.append(
                _("%(where)s: %(name)s may have at most %(max)d characters.")
                % {"where": where, "name": name, "max": MAX_HELP}
            )


def _check_field(
    field: Any, where: str, problems: list[str], ids: set[str], *, in_group: bool
) -> int:
    """Check one field (or group); returns how many fields it counts for."""
    if not isinstance(field, dict):
        problems.append(_("%(where)s: a field must be an object.") % {"where": where})
        return 1
    field_id = field.get("id")
    if not isinstance(field_id, str) or not ID_PATTERN.match(field_id) or SEPARATOR in field_id:
        problems.append(
            _(
                "%(where)s: id must start with a lower-case letter and have at most 40 "
                "lower-case letters, digits and single underscores."
            )
            % {"where": where}
        )
        return 1
    where = f"{where} ({field_id})"
    if field_id in RESERVED_IDS:
        problems.append(_("%(where)s: this id is reserved.") % {"where": where})
    if field_id in ids:
        problems.append(_("%(where)s: the id is used twice.") % {"where": where})
    ids.add(field_id)
    kind = field.get("type")
    if kind == GROUP:
        if in_group:
            problems.append(_("%(where)s: groups cannot be nested.") % {"where": where})
            return 1
        unknown = set(field) - GROUP_KEYS
        if unknown:
            problems.append(
                _("%(where)s: unknown keys %(names)s.")
                % {"where": where, "names": ", ".join(sorted(unknown))}
            )
        _check_labels(field, where, problems)
        low, high = field.get("min", 0), field.get("max", 1)
        if (
            not isinstance(low, int)
            or not isinstance(high, int)
            or isinstance(low, bool)
            or isinstance(high, bool)
            or not 0 <= low <= high <= MAX_GROUP_ITEMS
            or high < 1
        ):
            problems.append(
                _("%(where)s: a group needs 0 <= min <= max <= %(max)d and max >= 1.")
                % {"where": where, "max": MAX_GROUP_ITEMS}
            )
        members = field.get("fields")
        if not isinstance(members, list) or not members:
            problems.append(_("%(where)s: a group needs a list of fields.") % {"where": where})
            return 1
        count = 1
        for index, member in enumerate(members):
            place = f"{where}.fields[{index}]"
            if isinstance(member, dict) and member.get("type") == "file":
                problems.append(
                    _("%(where)s: file fields cannot be inside a group.") % {"where": place}
                )
                continue
            count += _check_field(member, place, problems, ids, in_group=True)
        return count
    if kind not in FIELD_TYPES:
        problems.append(
            _("%(where)s: type must be one of %(types)s.")
            % {"where": where, "types": ", ".join((*FIELD_TYPES, GROUP))}
        )
        return 1
    unknown = set(field) - FIELD_KEYS
    if unknown:
        problems.append(
            _("%(where)s: unknown keys %(names)s.")
            % {"where": where, "names": ", ".join(sorted(unknown))}
        )
    _check_labels(field, where, problems)
    if not isinstance(field.get("required", False), bool):
        problems.append(_("%(where)s: required must be true or false.") % {"where": where})
    _check_constraints(field, where, problems)
    _check_options(field, where, problems)
    return 1


def schema_validate(schema: Any) -> dict[str, Any]:
    """Check ``schema`` against the documented format; return it, or raise ``SchemaInvalid``
    listing every problem with its place (``pages[0].fields[2] (name): ...``)."""
    problems: list[str] = []
    if not isinstance(schema, dict):
        raise SchemaInvalid([_("The schema must be a JSON object.")])
    if len(json.dumps(schema)) > MAX_SCHEMA_BYTES:
        raise SchemaInvalid([_("The schema is larger than 256 KB.")])
    unknown = set(schema) - TOP_KEYS
    if unknown:
        problems.append(_("Unknown keys: %(names)s.") % {"names": ", ".join(sorted(unknown))})
    if not schema.get("title_de") or not _text(schema.get("title_de"), MAX_LABEL):
        problems.append(_("title_de is required (at most 200 characters)."))
    if not _text(schema.get("title_en", ""), MAX_LABEL):
        problems.append(_("title_en may have at most 200 characters."))
    pages = schema.get("pages")
    if not isinstance(pages, list) or not 1 <= len(pages) <= MAX_PAGES:
        problems.append(_("pages must be a list of 1 to %(max)d pages.") % {"max": MAX_PAGES})
        raise SchemaInvalid(problems)
    ids: set[str] = set()
    page_ids: set[str] = set()
    total = 0
    for index, page in enumerate(pages):
        where = f"pages[{index}]"
        if not isinstance(page, dict):
            problems.append(_("%(where)s: a page must be an object.") % {"where": where})
            continue
        unknown = set(page) - PAGE_KEYS
        if unknown:
            problems.append(
                _("%(where)s: unknown keys %(names)s.")
                % {"where": where, "names": ", ".join(sorted(unknown))}
            )
        page_id = page.get("id")
        if not isinstance(page_id, str) or not ID_PATTERN.match(page_id):
            problems.append(_("%(where)s: the page needs an id.") % {"where": where})
        elif page_id in page_ids:
            problems.append(_("%(where)s: the page id is used twice.") % {"where": where})
        else:
            page_ids.add(page_id)
        if not page.get("title_de") or not _text(page.get("title_de"), MAX_LABEL):
            problems.append(_("%(where)s: title_de is required.") % {"where": where})
        if not _text(page.get("title_en", ""), MAX_LABEL):
            problems.append(
                _("%(where)s: title_en may have at most 200 characters.") % {"where": where}
            )
        fields = page.get("fields")
        if not isinstance(fields, list) or not fields:
            problems.append(_("%(where)s: a page needs a list of fields.") % {"where": where})
            continue
        for position, field in enumerate(fields):
            total += _check_field(
                field, f"{where}.fields[{position}]", problems, ids, in_group=False
            )
    if total > MAX_FIELDS:
        problems.append(_("A form may have at most %(max)d fields.") % {"max": MAX_FIELDS})
    fee = schema.get("fee")
    if fee is not None:
        _check_fee(fee, schema, problems)
    if problems:
        raise SchemaInvalid(problems)
    return schema


def _check_fee(fee: Any, schema: Mapping[str, Any], problems: list[str]) -> None:
    if not isinstance(fee, dict) or set(fee) - FEE_KEYS:
        problems.append(_("fee must be an object with item, quantity_field and amount_field."))
        return
    item = fee.get("item", 0)
    if not isinstance(item, int) or isinstance(item, bool) or not 0 <= item < 20:
        problems.append(_("fee.item must be the position of a fee of the service (0-19)."))
    top = {f["id"]: f for f in top_fields(schema)}
    quantity = fee.get("quantity_field")
    if quantity is not None and (
        quantity not in top or top[quantity]["type"] not in ("integer", GROUP)
    ):
        problems.append(_("fee.quantity_field must name an integer field or a group."))
    amount = fee.get("amount_field")
    if amount is not None and (amount not in top or top[amount]["type"] != "currency"):
        problems.append(_("fee.amount_field must name a currency field."))


# --- reading a (valid) schema ---------------------------------------------------------------


def top_fields(schema: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every top-level field and group of every page, in order."""
    for page in schema.get("pages", []):
        if isinstance(page, dict):
            for field in page.get("fields", []):
                if isinstance(field, dict) and "id" in field and "type" in field:
                    yield field


def localised(item: Mapping[str, Any], key: str) -> str:
    """``label``/``help``/``title`` in the current language, German where English is empty."""
    if get_language() == "en" and item.get(f"{key}_en"):
        return str(item[f"{key}_en"])
    return str(item.get(f"{key}_de", ""))


def options_of(field: Mapping[str, Any]) -> list[dict[str, str]]:
    if field.get("code_list"):
        return CODE_LISTS[field["code_list"]]
    return list(field.get("options", []))


def file_fields(schema: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [f for f in top_fields(schema) if f["type"] == "file"]


def page_count(schema: Mapping[str, Any]) -> int:
    return len(schema.get("pages", []))


# --- Django fields ------------------------------------------------------------------------


class DecimalInput(forms.DecimalField):
    """A decimal typed as "12,50" or "12.50" (never with thousands separators)."""

    default_error_messages = {
        "invalid": gettext_lazy("Enter a number like 12,50."),
    }

    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]
        if value in self.empty_values:
            return None
        text = str(value).strip().replace(" ", "").replace("\u00a0", "")
        if text.startswith("+"):
            text = text[1:]
        if ("," in text and "." in text) or text.count(",") > 1 or text.count(".") > 1:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        text = text.replace(",", ".")
        if not re.fullmatch(r"-?\d{1,12}(\.\d{1,12})?", text):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        try:
            return Decimal(text)
        except InvalidOperation as error:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from error


def _date_limit(value: str | None) -> date | None:
    if not value:
        return None
    if value == "today":
        return timezone.localdate()
    return date.fromisoformat(value)


def _limit(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def django_field(spec: Mapping[str, Any]) -> forms.Field:
    """The Django form field of one schema field (not a group, not a file)."""
    kind = spec["type"]
    constraints = spec.get("constraints", {})
    common: dict[str, Any] = {
        "label": localised(spec, "label"),
        "help_text": localised(spec, "help"),
        "required": bool(spec.get("required", False)),
    }
    if kind == "text":
        max_length = constraints.get("max_length", DEFAULT_TEXT_LENGTH)
        validators = []
        if constraints.get("pattern"):
            message = localised(constraints, "pattern_message") or _(
                "The value does not have the expected format."
            )
            validators.append(_pattern_validator(constraints["pattern"], message))
        widget = (
            forms.Textarea(attrs={"rows": 4}) if constraints.get("multiline") else forms.TextInput()
        )
        return forms.CharField(
            min_length=constraints.get("min_length") or None,
            max_length=max_length,
            validators=validators,
            widget=widget,
            **common,
        )
    if kind == "date":
        field = forms.DateField(
            input_formats=["%Y-%m-%d", "%d.%m.%Y"],
            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            **common,
        )
        low, high = (
            _date_limit(constraints.get("min_date")),
            _date_limit(constraints.get("max_date")),
        )
        field.validators.append(
            _DateRange(constraints.get("min_date"), constraints.get("max_date"))
        )
        if low:
            field.widget.attrs["min"] = low.isoformat()
        if high:
            field.widget.attrs["max"] = high.isoformat()
        return field
    if kind == "boolean":
        return forms.BooleanField(**common)
    if kind == "integer":
        return forms.IntegerField(
            min_value=constraints.get("min"),
            max_value=constraints.get("max"),
            widget=forms.TextInput(attrs={"inputmode": "numeric"}),
            **common,
        )
    if kind in ("number", "currency"):
        places = 2 if kind == "currency" else constraints.get("decimal_places", 6)
        return DecimalInput(
            min_value=_limit(constraints.get("min")),
            max_value=_limit(constraints.get("max")),
            max_digits=12 + places,
            decimal_places=places,
            widget=forms.TextInput(attrs={"inputmode": "decimal"}),
            **common,
        )
    if kind == "select":
        choices = [("", _("Please choose"))] + [
            (option["value"], localised(option, "label")) for option in options_of(spec)
        ]
        return forms.ChoiceField(choices=choices, **common)
    raise ValueError(f"no Django field for type {kind}")


class _DateRange:
    """Date bounds checked when the value is validated ("today" is today then)."""

    def __init__(self, low: str | None, high: str | None) -> None:
        self.low, self.high = low, high

    def __call__(self, value: date) -> None:
        low, high = _date_limit(self.low), _date_limit(self.high)
        if low and value < low:
            raise ValidationError(
                _("The date must not be before %(date)s.") % {"date": _date_text(low)}
            )
        if high and value > high:
            raise ValidationError(
                _("The date must not be after %(date)s.") % {"date": _date_text(high)}
            )


def _date_text(value: date) -> str:
    return value.strftime("%d.%m.%Y") if get_language() != "en" else value.isoformat()


def _pattern_validator(pattern: str, message: str) -> Any:
    compiled = re.compile(pattern)

    def validate(value: str) -> None:
        # fullmatch: a pattern describes the whole value, as in XDatenfelder.
        if value and not compiled.fullmatch(value):
            raise ValidationError(message)

    return validate


# --- canonical values and form input -----------------------------------------------------


def canonical(spec: Mapping[str, Any], value: Any) -> Any:
    """A cleaned Django value in the stored JSON form."""
    if value is None:
        return None if spec["type"] != "text" else ""
    if spec["type"] == "date":
        return value.isoformat()
    if spec["type"] in ("number", "currency"):
        return str(value)
    return value


def to_input(spec: Mapping[str, Any], value: Any) -> str:
    """A stored value (canonical or as typed) as the text of its form input."""
    if value is None:
        return ""
    if spec["type"] == "boolean":
        return "on" if value in (True, "on", "true", "True", "1") else ""
    if (
        spec["type"] in ("number", "currency")
        and isinstance(value, str)
        and get_language() != "en"
        and re.fullmatch(r"-?\d+\.\d+", value)
    ):
        return value.replace(".", ",")
    return str(value)


def display(spec: Mapping[str, Any], value: Any) -> str:
    """A stored value as people read it (review page, receipt, case worker's page)."""
    if value in (None, ""):
        return "\u2013"
    kind = spec["type"]
    if kind == "boolean":
        return _("yes") if value is True else _("no")
    if kind == "date":
        try:
            return _date_text(date.fromisoformat(str(value)))
        except ValueError:
            return str(value)
    if kind == "select":
        for option in options_of(spec):
            if option["value"] == value:
                return localised(option, "label")
        return str(value)
    if kind in ("number", "currency"):
        text = str(value)
        if get_language() != "en":
            text = text.replace(".", ",")
        return f"{text} EUR" if kind == "currency" else text
    return str(value)


# --- the form of one page -------------------------------------------------------------------


@dataclass
class GroupBlock:
    """A repeatable group of a page as rendered: its spec and one list of bound fields per item."""

    spec: dict[str, Any]
    items: list[list[forms.BoundField]]
    errors: list[str]

    @property
    def label(self) -> str:
        return localised(self.spec, "label")

    @property
    def help(self) -> str:
        return localised(self.spec, "help")

    @property
    def can_add(self) -> bool:
        return len(self.items) < int(self.spec.get("max", 1))

    @property
    def can_remove(self) -> bool:
        return len(self.items) > int(self.spec.get("min", 0))


def count_name(group_id: str) -> str:
    return f"_count_{group_id}"


def member_name(group_id: str, index: int, field_id: str) -> str:
    return f"{group_id}{SEPARATOR}{index}{SEPARATOR}{field_id}"


class PageForm(forms.Form):
    """The fields of one page of a form, with repeatable groups and file-field checks.

    ``counts`` is how many items each group shows; ``documents`` how many documents each
    file field already has (a required file field needs at least one).
    """

    def __init__(
        self,
        page: Mapping[str, Any],
        *,
        data: Mapping[str, Any] | None = None,
        initial: Mapping[str, Any] | None = None,
        counts: Mapping[str, int] | None = None,
        documents: Mapping[str, int] | None = None,
        prefix: str | None = None,
    ) -> None:
        super().__init__(data=data, initial=None, prefix=prefix)
        self.page = page
        self.counts: dict[str, int] = {}
        self.documents = dict(documents or {})
        self.group_errors: dict[str, list[str]] = {}
        stored = dict(initial or {})
        for spec in page["fields"]:
            if spec["type"] == GROUP:
                count = (counts or {}).get(spec["id"])
                if count is None:
                    given = stored.get(spec["id"])
                    count = max(
                        len(given) if isinstance(given, list) else 0, int(spec.get("min", 0))
                    )
                count = max(0, min(count, int(spec.get("max", 1))))
                self.counts[spec["id"]] = count
                listed = stored.get(spec["id"])
                items: list[Any] = listed if isinstance(listed, list) else []
                for index in range(count):
                    item = (
                        items[index]
                        if index < len(items) and isinstance(items[index], dict)
                        else {}
                    )
                    for member in spec["fields"]:
                        name = member_name(spec["id"], index, member["id"])
                        field = django_field(member)
                        field.label = f"{field.label} ({index + 1})" if count > 1 else field.label
                        self.fields[name] = field
                        if member["id"] in item:
                            self.initial[name] = to_input(member, item[member["id"]])
            elif spec["type"] != "file":
                self.fields[spec["id"]] = django_field(spec)
                if spec["id"] in stored:
                    self.initial[spec["id"]] = to_input(spec, stored[spec["id"]])

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for spec in self.page["fields"]:
            if spec["type"] == GROUP:
                count = self.counts[spec["id"]]
                low, high = int(spec.get("min", 0)), int(spec.get("max", 1))
                if not low <= count <= high:
                    self.group_errors[spec["id"]] = [
                        _("Give between %(min)d and %(max)d entries.") % {"min": low, "max": high}
                    ]
            elif spec["type"] == "file":
                present = self.documents.get(spec["id"], 0)
                limit = spec.get("constraints", {}).get("max_files", 1)
                if spec.get("required") and present == 0:
                    self.group_errors[spec["id"]] = [_("Upload at least one file.")]
                elif present > limit:
                    self.group_errors[spec["id"]] = [
                        _("Upload at most %(count)d files here.") % {"count": limit}
                    ]
        if self.group_errors:
            raise ValidationError(_("Some entries are missing or not valid."))
        return cleaned

    def values(self) -> dict[str, Any]:
        """The page's cleaned values in the canonical form (only after ``is_valid()``)."""
        result: dict[str, Any] = {}
        for spec in self.page["fields"]:
            if spec["type"] == GROUP:
                result[spec["id"]] = [
                    {
                        member["id"]: canonical(
                            member,
                            self.cleaned_data.get(member_name(spec["id"], index, member["id"])),
                        )
                        for member in spec["fields"]
                    }
                    for index in range(self.counts[spec["id"]])
                ]
            elif spec["type"] != "file":
                result[spec["id"]] = canonical(spec, self.cleaned_data.get(spec["id"]))
        return result

    def blocks(self) -> list[tuple[str, Any]]:
        """What the page shows in order: ("field", bound field), ("group", GroupBlock) or
        ("file", spec)."""
        result: list[tuple[str, Any]] = []
        for spec in self.page["fields"]:
            if spec["type"] == GROUP:
                items = [
                    [
                        self[member_name(spec["id"], index, member["id"])]
                        for member in spec["fields"]
                    ]
                    for index in range(self.counts[spec["id"]])
                ]
                result.append(
                    ("group", GroupBlock(spec, items, self.group_errors.get(spec["id"], [])))
                )
            elif spec["type"] == "file":
                result.append(("file", spec))
            else:
                result.append(("field", self[spec["id"]]))
        return result


def raw_values(
    page: Mapping[str, Any], post: Mapping[str, Any], counts: Mapping[str, int]
) -> dict[str, Any]:
    """What was typed on a page, as strings (booleans as true/false), for a draft."""
    result: dict[str, Any] = {}
    for spec in page["fields"]:
        if spec["type"] == GROUP:
            result[spec["id"]] = [
                {
                    member["id"]: _raw(
                        member, post.get(member_name(spec["id"], index, member["id"]))
                    )
                    for member in spec["fields"]
                }
                for index in range(counts.get(spec["id"], 0))
            ]
        elif spec["type"] != "file":
            result[spec["id"]] = _raw(spec, post.get(spec["id"]))
    return result


def _raw(spec: Mapping[str, Any], value: Any) -> Any:
    if spec["type"] == "boolean":
        return value not in (None, "", "off")
    return "" if value is None else str(value)[:MAX_TEXT_LENGTH]


def post_counts(page: Mapping[str, Any], post: Mapping[str, Any]) -> dict[str, int]:
    """The number of items of each group as the page posted it (clamped to the schema)."""
    counts = {}
    for spec in page["fields"]:
        if spec["type"] == GROUP:
            try:
                count = int(str(post.get(count_name(spec["id"]), "0"))[:3])
            except ValueError:
                count = int(spec.get("min", 0))
            counts[spec["id"]] = max(0, min(count, int(spec.get("max", 1))))
    return counts


def page_input(
    page: Mapping[str, Any], data: Mapping[str, Any]
) -> tuple[dict[str, str], dict[str, int]]:
    """Stored data of a page as the form input it would have been posted as, with counts."""
    form_data: dict[str, str] = {}
    counts: dict[str, int] = {}
    for spec in page["fields"]:
        value = data.get(spec["id"])
        if spec["type"] == GROUP:
            items = value if isinstance(value, list) else []
            counts[spec["id"]] = len(items)
            for index, item in enumerate(items):
                for member in spec["fields"]:
                    text = to_input(member, (item or {}).get(member["id"]))
                    if text:
                        form_data[member_name(spec["id"], index, member["id"])] = text
        elif spec["type"] != "file":
            text = to_input(spec, value)
            if text:
                form_data[spec["id"]] = text
    return form_data, counts


def summary(schema: Mapping[str, Any], data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The data for people: per page its title and (label, value) rows; group items
    numbered. File fields are listed by the caller from the documents."""
    pages = []
    for page in schema.get("pages", []):
        rows: list[tuple[str, str]] = []
        for spec in page["fields"]:
            if spec["type"] == "file":
                continue
            if spec["type"] == GROUP:
                items = data.get(spec["id"]) or []
                if not items:
                    rows.append((localised(spec, "label"), "\u2013"))
                for index, item in enumerate(items if isinstance(items, list) else []):
                    for member in spec["fields"]:
                        rows.append(
                            (
                                f"{localised(spec, 'label')} {index + 1}: "
                                f"{localised(member, 'label')}",
                                display(member, (item or {}).get(member["id"])),
                            )
                        )
            else:
                rows.append((localised(spec, "label"), display(spec, data.get(spec["id"]))))
        pages.append({"title": localised(page, "title"), "rows": rows})
    return pages
