"""Template helpers of the workflow pages."""

from functools import lru_cache

from django import template
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.templatetags.static import static
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def duration(seconds: float | None) -> str:
    """A duration in seconds as days, hours and minutes ("2 d 3 h", "45 min", "20 s")."""
    if seconds is None:
        return ""
    total = round(float(seconds))
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return _("%(days)d d %(hours)d h") % {"days": days, "hours": hours}
    if hours:
        return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}
    if minutes:
        return _("%(minutes)d min") % {"minutes": minutes}
    return _("%(seconds)d s") % {"seconds": secs}


@lru_cache(maxsize=64)
def _vendor_available(path: str) -> bool:
    try:
        return bool(finders.find(path)) or staticfiles_storage.exists(path)
    except Exception:
        return False


@register.simple_tag
def vendor_style(name: str) -> SafeString:
    """A stylesheet built from frontend/package.json (like ``vendor_script``), or nothing
    when npm did not build it: the page then works with its no-script fallback."""
    path = f"vendor/{name}"
    if not _vendor_available(path):
        return SafeString("")
    return format_html('<link rel="stylesheet" href="{}">', static(path))
