"""Template helpers of the charging pages."""

from django import template
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.templatetags.static import static

register = template.Library()


@register.simple_tag
def vendor_static(path: str) -> str:
    """The address of a file built from frontend/ (``vendor/...``), or "" if not built."""
    full = f"vendor/{path}"
    try:
        if finders.find(full) or staticfiles_storage.exists(full):
            return static(full)
    except Exception:  # noqa: S110 - a missing build must not break the page
        pass
    return ""


@register.filter
def kw(watts: int | None) -> str:
    """Watts as kilowatts with one decimal (11000 -> "11.0")."""
    if watts is None:
        return "-"
    return f"{watts / 1000:.1f}"


@register.filter
def euro(cents: int | None) -> str:
    if cents is None:
        return "-"
    return f"{cents / 100:.2f} €"
