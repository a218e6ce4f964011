from typing import Any

from django.http import HttpRequest


def rathaus(request: HttpRequest) -> dict[str, Any]:
    """The municipality of the request, for the layout (name, colours)."""
    return {"municipality": getattr(request, "municipality", None)}
