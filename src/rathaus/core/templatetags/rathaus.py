"""Template helpers of the UI shell."""

from functools import lru_cache

from django import template
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.forms import BoundField
from django.templatetags.static import static
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()


@lru_cache(maxsize=32)
def _vendor_available(path: str) -> bool:
    try:
        return bool(finders.find(path)) or staticfiles_storage.exists(path)
    except Exception:
        return False


@register.simple_tag
def vendor_script(name: str) -> SafeString:
    """A <script> for a library built from frontend/package.json, or nothing.

    Pages are server-rendered and work without these; only partial updates degrade.
    """
    path = f"vendor/{name}"
    if not _vendor_available(path):
        return SafeString("")
    return format_html('<script src="{}" defer></script>', static(path))


@register.filter
def accessible(field: BoundField) -> SafeString:
    """Render a form field's widget with its help text and errors linked for screen readers."""
    described = []
    if field.help_text:
        described.append(f"{field.auto_id}_help")
    attrs: dict[str, str | bool] = {}
    if field.errors:
        described.append(f"{field.auto_id}_error")
        attrs["aria-invalid"] = "true"
    if described:
        attrs["aria-describedby"] = " ".join(described)
    if field.field.required:
        attrs["required"] = ""
    return field.as_widget(attrs=attrs)


@register.filter
def is_mapping(value: object) -> bool:
    return isinstance(value, dict)


@register.filter
def is_sequence(value: object) -> bool:
    return isinstance(value, list | tuple)
