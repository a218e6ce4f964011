"""API of the e-invoice inbox (under /api/v1/): suppliers and connected systems (or a
Peppol access point) post invoices; they read the verdict back.

Authentication: a personal API token of a staff account of the municipality (the
platform's ``Authorization: Bearer rh_...``) holding ``einvoice.receive_invoice`` for
the whole municipality. The body is the invoice file itself.
"""

from __future__ import annotations

from typing import Any

from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound as DrfNotFound
from rest_framework.exceptions import PermissionDenied as DrfPermissionDenied
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import BaseParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from rathaus.core.tenancy import request_municipality
from rathaus.einvoice import services
from rathaus.einvoice.models import RECEIVE, Invoice
from rathaus.organisation.permissions import user_can

#: Read at most this much from the wire (the highest municipal limit) before refusing.
WIRE_LIMIT = 50 * 1024 * 1024


class _RawParser(BaseParser):
    """The body as bytes, read with a hard cap (never the whole of a huge request)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        if stream is None:
            return b""
        data: bytes = stream.read(WIRE_LIMIT + 1)
        return data


class XmlParser(_RawParser):
    media_type = "application/xml"


class TextXmlParser(_RawParser):
    media_type = "text/xml"


class PdfParser(_RawParser):
    media_type = "application/pdf"


class MessageOutput(serializers.Serializer):
    code = serializers.CharField()
    level = serializers.ChoiceField(choices=["error", "warning", "information"])
    text = serializers.CharField()
    location = serializers.CharField()


class InvoiceOutput(serializers.Serializer):
    id = serializers.IntegerField()
    sha256 = serializers.CharField()
    accepted = serializers.BooleanField()
    scenario = serializers.CharField()
    status = serializers.ChoiceField(choices=Invoice.Status.choices)
    number = serializers.CharField()
    issue_date = serializers.DateField(allow_null=True)
    amount_due = serializers.DecimalField(max_digits=19, decimal_places=2, allow_null=True)
    currency = serializers.CharField()
    leitweg_id = serializers.CharField()
    leitweg_valid = serializers.BooleanField()
    probable_duplicate_of = serializers.IntegerField(allow_null=True, source="duplicate_of_id")
    # Output only: the metaclass takes the field off the class, Serializer.errors stays.
    errors = serializers.SerializerMethodField()  # type: ignore[assignment]
    warnings = serializers.SerializerMethodField()
    messages = serializers.SerializerMethodField()

    def _codes(self, invoice: Invoice, level: str) -> list[str]:
        return [
            m.get("code", "")
            for m in (invoice.report or {}).get("messages", [])
            if m.get("level") == level
        ]

    def get_errors(self, invoice: Invoice) -> list[str]:
        return self._codes(invoice, "error")

    def get_warnings(self, invoice: Invoice) -> list[str]:
        return self._codes(invoice, "warning")

    @extend_schema(responses=MessageOutput(many=True))
    def get_messages(self, invoice: Invoice) -> list[dict[str, str]]:
        return [
            {k: str(m.get(k, "")) for k in ("code", "level", "text", "location")}
            for m in (invoice.report or {}).get("messages", [])
        ]


def _require_receiver(request: Request) -> None:
    if not user_can(user=request.user, permission=RECEIVE, org_unit=None):
        raise DrfPermissionDenied()


class InvoiceReceiveApi(APIView):
    permission_classes = [IsAuthenticated]
    parser_classes = [XmlParser, TextXmlParser, PdfParser]

    @extend_schema(
        operation_id="einvoice_invoice_receive",
        summary="Deliver an e-invoice (XRechnung UBL/CII XML or ZUGFeRD/Factur-X PDF)",
        description=(
            "The body is the file. 201 for a new invoice, 200 when the same bytes were "
            "received before (idempotent). An invoice that fails validation is still stored "
            "(accepted false, with the rule ids) and its sender told."
        ),
        parameters=[
            OpenApiParameter("filename", OpenApiTypes.STR, description="Original file name")
        ],
        request={
            "application/xml": OpenApiTypes.BINARY,
            "text/xml": OpenApiTypes.BINARY,
            "application/pdf": OpenApiTypes.BINARY,
        },
        responses={200: InvoiceOutput, 201: InvoiceOutput},
    )
    def post(self, request: Request) -> Response:
        _require_receiver(request)
        data = request.data
        if not isinstance(data, bytes):
            raise ValidationError({"body": ["Send the invoice file as the request body."]})
        name = str(request.query_params.get("filename", "") or "invoice")[:255]
        invoice, created = services.invoice_receive(
            municipality=request_municipality(request),
            data=data,
            file_name=name,
            channel=Invoice.Channel.API,
            user=request.user,
        )
        return Response(InvoiceOutput(invoice).data, status=201 if created else 200)


class InvoiceDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="einvoice_invoice_read",
        summary="Status and validation report of a delivered invoice",
        responses=InvoiceOutput,
    )
    def get(self, request: Request, invoice_id: int) -> Response:
        _require_receiver(request)
        invoice = Invoice.objects.filter(
            municipality=request_municipality(request), pk=invoice_id
        ).first()
        if invoice is None:
            raise DrfNotFound()
        return Response(InvoiceOutput(invoice).data)


api_urlpatterns = [
    path("einvoice/invoices/", InvoiceReceiveApi.as_view(), name="einvoice-invoice-receive"),
    path(
        "einvoice/invoices/<int:invoice_id>/",
        InvoiceDetailApi.as_view(),
        name="einvoice-invoice-read",
    ),
]
