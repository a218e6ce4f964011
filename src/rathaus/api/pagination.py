from typing import Any

from django.utils.translation import gettext as _
from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.views import APIView


class PageNumberPagination(pagination.PageNumberPagination):
    """Page numbers; a malformed or too large ``page_size`` is an error, not silently ignored."""

    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_number(self, request: Request, paginator: Any) -> int | str:
        raw = request.query_params.getlist(self.page_query_param)
        if not raw:
            return 1
        if len(raw) > 1 or not raw[0].isdigit() or int(raw[0]) < 1:
            raise ValidationError({self.page_query_param: [_("A whole number from 1.")]})
        return int(raw[0])

    def get_page_size(self, request: Request) -> int | None:
        raw = request.query_params.getlist(self.page_size_query_param)
        if not raw:
            return self.page_size
        if len(raw) > 1 or not raw[0].isdigit() or not 1 <= int(raw[0]) <= self.max_page_size:
            raise ValidationError(
                {
                    self.page_size_query_param: [
                        _("A whole number from 1 to %(max)d.") % {"max": self.max_page_size}
                    ]
                }
            )
        return int(raw[0])

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            schema = parameter["schema"]
            schema["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                schema["maximum"] = self.max_page_size
        return parameters
