"""Every API error in one shape: ``{"error": {"code", "message", "fields"}}``."""

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response

from rathaus.core.errors import ApplicationError, error_body


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error details as ``{"field.sub": ["message", ...]}``."""
    fields: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            for sub_name, messages in _flatten(value, name).items():
                fields.setdefault(sub_name, []).extend(messages)
    elif isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            fields[prefix or "non_field_errors"] = [str(item) for item in detail]
        else:
            for index, item in enumerate(detail):
                for sub_name, messages in _flatten(
                    item, f"{prefix}.{index}" if prefix else str(index)
                ).items():
                    fields.setdefault(sub_name, []).extend(messages)
    else:
        fields[prefix or "non_field_errors"] = [str(detail)]
    return fields


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    headers: dict[str, str] = {}
    if isinstance(exc, ApplicationError):
        return Response(
            error_body(code=exc.code, message=exc.message, fields=exc.fields), status=exc.status
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        return Response(
            error_body(code="too_large", message=_("The request body is too large.")),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    elif isinstance(exc, SuspiciousOperation):
        return Response(
            error_body(code="bad_request", message=_("The request could not be processed.")),
            status=400,
        )
    if not isinstance(exc, exceptions.APIException):
        return None  # a real bug: Django's 500 handler answers in the same shape
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))  # type: ignore[attr-defined]
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        message = _("Some fields are not valid.")
        code = "invalid"
    else:
        fields = {}
        message = (
            str(exc.detail) if not isinstance(exc.detail, list | dict) else str(exc.default_detail)
        )
        code = exc.default_code
        codes = exc.get_codes()
        if isinstance(codes, str):
            code = codes
    return Response(
        error_body(code=code, message=message, fields=fields),
        status=exc.status_code,
        headers=headers,
    )
