"""Task forms declared in the process model, and validation of submitted data.

A user task lists its fields in a rathaus extension element (ADR 0011)::

    <bpmn:userTask id="check_completeness" name="Check completeness">
      <bpmn:extensionElements>
        <rathaus:form>
          <rathaus:field id="complete" type="boolean" label="Documents complete" required="true"/>
          <rathaus:field id="missing" type="text" label="Missing documents" maxLength="2000"/>
          <rathaus:field id="decision" type="enum" label="Decision" required="true">
            <rathaus:option value="approve" label="Approve"/>
            <rathaus:option value="reject" label="Reject"/>
          </rathaus:field>
        </rathaus:form>
      </bpmn:extensionElements>
    </bpmn:userTask>

The field ``id`` is the process variable the value is stored in. Types follow the
XDatenfelder basics: ``string`` (one line), ``text`` (several lines), ``integer``,
``number``, ``boolean``, ``date`` (ISO ``YYYY-MM-DD``), ``enum`` (one of the options) and
``email``. Data comes either as JSON (strict: a number must be a number) or from an HTML
form (``from_strings=True``: every value is a string and is converted). Wrong types are
reported per field and the task stays open.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from rathaus.core.errors import ValidationFailed

if TYPE_CHECKING:
    from rathaus.workflow.models import UserTask

FIELD_TYPES = ("string", "text", "integer", "number", "boolean", "date", "enum", "email")
IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")
DEFAULT_MAX_LENGTH = {"string": 500, "text": 10_000, "email": 254, "enum": 200}
#: Fields a form may declare, and the largest integer it accepts (JSON-safe).
MAX_FIELDS = 100
MAX_INTEGER = 2**53


@dataclass(frozen=True)
class FieldSpec:
    """One field of a task form."""

    name: str
    type: str
    label: str = ""
    required: bool = False
    min_length: int | None = None
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    options: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    help_text: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "label": self.label,
            "required": self.required,
            "min_length": self.min_length,
            "max_length": self.max_length,
            "minimum": self.minimum,
            "maximum": self.maximum,
            "options": [list(option) for option in self.options],
            "help_text": self.help_text,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FieldSpec:
        return cls(
            name=data["name"],
            type=data["type"],
            label=data.get("label", ""),
            required=bool(data.get("required", False)),
            min_length=data.get("min_length"),
            max_length=data.get("max_length"),
            minimum=data.get("minimum"),
            maximum=data.get("maximum"),
            options=tuple((str(v), str(label)) for v, label in data.get("options", [])),
            help_text=data.get("help_text", ""),
        )

    @property
    def effective_max_length(self) -> int | None:
        return self.max_length or DEFAULT_MAX_LENGTH.get(self.type)


def task_form_fields(task: UserTask) -> list[FieldSpec]:
    """The fields the model declares for ``task`` (stored on the task when it opened)."""
    return [FieldSpec.from_dict(item) for item in task.form or []]


def form_data_clean(
    fields: list[FieldSpec], data: Mapping[str, Any], *, from_strings: bool = False
) -> dict[str, Any]:
    """Validate ``data`` against ``fields``; returns the values to store.

    Raises ``ValidationFailed`` with one message per wrong field. Keys that the form does
    not declare are refused too: a task must not overwrite arbitrary process variables.
    """
    if not isinstance(data, Mapping):
        raise ValidationFailed(_("The task data must be an object of field values."))
    errors: dict[str, list[str]] = {}
    known = {spec.name for spec in fields}
    for key in data:
        if key not in known:
            errors.setdefault(str(key)[:100], []).append(_("This field is not part of the form."))
    cleaned: dict[str, Any] = {}
    for spec in fields:
        raw = data.get(spec.name)
        if from_strings and isinstance(raw, str):
            raw = raw.strip()
        empty = raw is None or raw == "" or (from_strings and spec.type == "boolean" and not raw)
        if empty:
            if spec.required and spec.type != "boolean":
                errors.setdefault(spec.name, []).append(_("This field is required."))
            elif spec.type == "boolean":
                if spec.required and not from_strings and raw is None:
                    errors.setdefault(spec.name, []).append(_("This field is required."))
                else:
                    cleaned[spec.name] = False
            else:
                cleaned[spec.name] = None
            continue
        try:
            cleaned[spec.name] = _clean_value(spec, raw, from_strings=from_strings)
        except ValueError as error:
            errors.setdefault(spec.name, []).append(str(error))
    if errors:
        raise ValidationFailed(fields=errors)
    return cleaned


def _clean_value(spec: FieldSpec, raw: Any, *, from_strings: bool) -> Any:
    kind = spec.type
    if kind in ("string", "text", "email", "enum"):
        if not isinstance(raw, str):
            raise ValueError(_("Enter text."))
        return _clean_text(spec, raw)
    if kind == "boolean":
        if isinstance(raw, bool):
            return raw
        if from_strings and raw in ("on", "true", "1", "yes"):
            return True
        if from_strings and raw in ("false", "0", "no"):
            return False
        raise ValueError(_("Choose yes or no."))
    if kind == "integer":
        return _check_range(spec, _to_integer(raw, from_strings=from_strings))
    if kind == "number":
        return _check_range(spec, _to_number(raw, from_strings=from_strings))
    if kind == "date":
        if not isinstance(raw, str):
            raise ValueError(_("Enter a date as YYYY-MM-DD."))
        try:
            value = date.fromisoformat(raw)
        except ValueError:
            raise ValueError(_("Enter a date as YYYY-MM-DD.")) from None
        if len(raw) != 10:
            raise ValueError(_("Enter a date as YYYY-MM-DD."))
        return value.isoformat()
    raise ValueError(_("Unknown field type."))


def _clean_text(spec: FieldSpec, raw: str) -> str:
    if "\x00" in raw:
        raise ValueError(_("The text contains invalid characters."))
    limit = spec.effective_max_length
    if limit is not None and len(raw) > limit:
        raise ValueError(_("Enter at most %(limit)d characters.") % {"limit": limit})
    if spec.min_length is not None and len(raw) < spec.min_length:
        raise ValueError(_("Enter at least %(limit)d characters.") % {"limit": spec.min_length})
    if spec.type == "string" and ("\n" in raw or "\r" in raw):
        raise ValueError(_("Enter a single line."))
    if spec.type == "email":
        try:
            validate_email(raw)
        except ValidationError:
            raise ValueError(_("Enter a valid e-mail address.")) from None
    if spec.type == "enum" and raw not in {value for value, _label in spec.options}:
        raise ValueError(_("Choose one of the offered options."))
    return raw


def _to_integer(raw: Any, *, from_strings: bool) -> int:
    if isinstance(raw, bool):
        raise ValueError(_("Enter a whole number."))
    if isinstance(raw, int):
        value = raw
    elif from_strings and isinstance(raw, str) and re.fullmatch(r"[+-]?\d{1,16}", raw):
        value = int(raw)
    else:
        raise ValueError(_("Enter a whole number."))
    if abs(value) > MAX_INTEGER:
        raise ValueError(_("The number is too large."))
    return value


def _to_number(raw: Any, *, from_strings: bool) -> float | int:
    if isinstance(raw, bool):
        raise ValueError(_("Enter a number."))
    if isinstance(raw, int | float):
        value: float | int = raw
    elif (
        from_strings and isinstance(raw, str) and re.fullmatch(r"[+-]?\d{1,15}([.,]\d{1,6})?", raw)
    ):
        value = float(raw.replace(",", "."))
    else:
        raise ValueError(_("Enter a number."))
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(_("Enter a number."))
    if abs(value) > MAX_INTEGER:
        raise ValueError(_("The number is too large."))
    return value


def _check_range(spec: FieldSpec, value: float | int) -> float | int:
    if spec.minimum is not None and value < spec.minimum:
        raise ValueError(_("Enter at least %(limit)s.") % {"limit": _fmt(spec.minimum)})
    if spec.maximum is not None and value > spec.maximum:
        raise ValueError(_("Enter at most %(limit)s.") % {"limit": _fmt(spec.maximum)})
    return value


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def field_from_xml(attributes: Mapping[str, str], options: list[tuple[str, str]]) -> FieldSpec:
    """A ``FieldSpec`` from a ``rathaus:field`` element's attributes (raises ValueError)."""
    name = attributes.get("id", "")
    if not IDENTIFIER.match(name):
        raise ValueError(f"field id {name!r} must be a variable name (letters, digits, _)")
    kind = attributes.get("type", "string")
    if kind not in FIELD_TYPES:
        raise ValueError(f"field {name}: unknown type {kind!r} (known: {', '.join(FIELD_TYPES)})")
    if kind == "enum" and not options:
        raise ValueError(f"field {name}: an enum field needs rathaus:option elements")
    required = attributes.get("required", "false")
    if required not in ("true", "false"):
        raise ValueError(f"field {name}: required must be true or false")
    return FieldSpec(
        name=name,
        type=kind,
        label=attributes.get("label", name)[:200],
        required=required == "true",
        min_length=_int_attr(attributes, "minLength", name),
        max_length=_int_attr(attributes, "maxLength", name),
        minimum=_number_attr(attributes, "min", name),
        maximum=_number_attr(attributes, "max", name),
        options=tuple(options),
        help_text=attributes.get("help", "")[:500],
    )


def _int_attr(attributes: Mapping[str, str], key: str, name: str) -> int | None:
    value = attributes.get(key)
    if value is None:
        return None
    if not re.fullmatch(r"\d{1,6}", value):
        raise ValueError(f"field {name}: {key} must be a whole number")
    return int(value)


def _number_attr(attributes: Mapping[str, str], key: str, name: str) -> float | None:
    value = attributes.get(key)
    if value is None:
        return None
    if not re.fullmatch(r"[+-]?\d{1,15}(\.\d{1,6})?", value):
        raise ValueError(f"field {name}: {key} must be a number")
    return float(value)
