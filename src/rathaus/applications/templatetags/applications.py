"""Template helpers other pages use to link to the online applications."""

from typing import Any

from django import template
from django.urls import reverse

from rathaus.applications import selectors

register = template.Library()


@register.simple_tag
def application_start_url(service: Any) -> str:
    """The "apply online" address of a catalogue service, or "" if it has no open form
    (one query). Use: ``{% application_start_url service as apply_url %}``."""
    if getattr(service, "pk", None) is None:
        return ""
    if selectors.form_for_service(service_id=service.pk) is None:
        return ""
    return reverse("applications:start", args=[service.slug])
