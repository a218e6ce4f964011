"""The terminal protocol (under /api/v1/idpickup/device/) and the public status lookup.

Every device request carries ``X-Device-Id``, ``X-Timestamp`` (Unix seconds), ``X-Nonce``
(16-64 characters, never reused) and ``X-Signature`` (hex HMAC-SHA256 of the canonical
request, ``signing.canonical_request``). See docs/modules/idpickup.md for the protocol.
"""

from datetime import datetime
from typing import Any

from django.urls import path
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from rathaus.api.fields import StrictCharField
from rathaus.core.http import client_address
from rathaus.core.tenancy import request_municipality
from rathaus.idpickup import selectors, services, signing
from rathaus.idpickup.models import DeviceEvent, IdOrder, Terminal


class DeviceSignatureAuthentication(BaseAuthentication):
    """A terminal signing each request with its device key (``signing.py``)."""

    def authenticate(self, request: Request) -> tuple[Any, Terminal] | None:
        meta = request._request.META
        terminal = services.device_request_authenticate(
            municipality=request_municipality(request._request),
            device_id=str(meta.get(signing.DEVICE_HEADER, "")),
            timestamp=str(meta.get(signing.TIMESTAMP_HEADER, "")),
            nonce=str(meta.get(signing.NONCE_HEADER, "")),
            signature=str(meta.get(signing.SIGNATURE_HEADER, "")),
            method=request.method or "",
            path=request._request.get_full_path(),
            body=request._request.body,
        )
        from django.contrib.auth.models import AnonymousUser

        return AnonymousUser(), terminal

    def authenticate_header(self, request: Request) -> str:
        return "Rathaus-Device-HMAC"


class DeviceSignatureScheme(OpenApiAuthenticationExtension):
    target_class = "rathaus.idpickup.apis.DeviceSignatureAuthentication"
    name = "deviceSignature"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-Signature",
            "description": "HMAC-SHA256 with the terminal's device key over method, path, "
            "X-Timestamp, X-Nonce and the SHA-256 of the body (one per line), sent with "
            "X-Device-Id, X-Timestamp and X-Nonce.",
        }


class IsTerminal(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.auth, Terminal)


class DeviceView(APIView):
    authentication_classes = [DeviceSignatureAuthentication]
    permission_classes = [IsTerminal]

    @property
    def terminal(self) -> Terminal:
        assert isinstance(self.request.auth, Terminal)
        return self.request.auth


def _valid(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class PickupStaffInput(serializers.Serializer):
    card = StrictCharField(max_length=200)
    pin = StrictCharField(max_length=12)


class PickupHeartbeatInput(serializers.Serializer):
    camera_ok = serializers.BooleanField(required=False, allow_null=True, default=None)


class PickupCompartmentOutput(serializers.Serializer):
    number = serializers.IntegerField()
    size = serializers.CharField()
    height_cm = serializers.IntegerField()
    door = serializers.CharField()
    occupied = serializers.BooleanField()


class PickupHeartbeatOutput(serializers.Serializer):
    terminal = serializers.CharField()
    server_time = serializers.DateTimeField()
    pin_entry_locked = serializers.BooleanField()
    compartments = PickupCompartmentOutput(many=True)


class HeartbeatView(DeviceView):
    @extend_schema(
        operation_id="idpickup_device_heartbeat",
        request=PickupHeartbeatInput,
        responses={200: PickupHeartbeatOutput},
        tags=["idpickup device"],
    )
    def post(self, request: Request) -> Response:
        data = _valid(PickupHeartbeatInput, request.data)
        terminal = services.terminal_heartbeat(terminal=self.terminal, camera_ok=data["camera_ok"])
        return Response(PickupHeartbeatOutput(selectors.terminal_state(terminal=terminal)).data)


class PickupEventInput(serializers.Serializer):
    event_id = StrictCharField(max_length=64)
    type = serializers.ChoiceField(choices=DeviceEvent.Kind.values)
    occurred_at = serializers.DateTimeField()
    compartment = serializers.IntegerField(required=False, min_value=1, max_value=999)
    empty = serializers.BooleanField(required=False)
    ok = serializers.BooleanField(required=False)
    alarm = StrictCharField(required=False, max_length=100)


class PickupEventOutput(serializers.Serializer):
    event_id = serializers.CharField()
    recorded = serializers.BooleanField(help_text="False when this event id was reported before.")
    outcome = serializers.CharField()


class EventView(DeviceView):
    @extend_schema(
        operation_id="idpickup_device_event",
        request=PickupEventInput,
        responses={200: PickupEventOutput, 201: PickupEventOutput},
        tags=["idpickup device"],
    )
    def post(self, request: Request) -> Response:
        data = _valid(PickupEventInput, request.data)
        extra = {key: data[key] for key in ("empty", "ok", "alarm") if key in data}
        occurred_at: datetime = data["occurred_at"]
        result = services.device_event_report(
            terminal=self.terminal,
            event_id=data["event_id"],
            kind=data["type"],
            occurred_at=occurred_at,
            compartment_number=data.get("compartment"),
            data=extra,
        )
        body = PickupEventOutput(
            {
                "event_id": result.event.event_id,
                "recorded": result.created,
                "outcome": result.event.outcome,
            }
        ).data
        return Response(body, status=201 if result.created else 200)


class PickupLoadInput(serializers.Serializer):
    staff = serializers.ListField(child=PickupStaffInput(), max_length=2)
    barcode = StrictCharField(max_length=40)


class PickupOpenOutput(serializers.Serializer):
    compartment = serializers.IntegerField(help_text="The compartment the terminal opens now.")
    booking_number = serializers.CharField(allow_blank=True)


class LoadView(DeviceView):
    @extend_schema(
        operation_id="idpickup_device_load",
        request=PickupLoadInput,
        responses={200: PickupOpenOutput},
        tags=["idpickup device"],
    )
    def post(self, request: Request) -> Response:
        data = _valid(PickupLoadInput, request.data)
        order, compartment = services.terminal_load(
            terminal=self.terminal, staff=data["staff"], barcode=data["barcode"]
        )
        return Response(
            PickupOpenOutput(
                {"compartment": compartment.number, "booking_number": order.booking_number}
            ).data
        )


class PickupUnloadInput(serializers.Serializer):
    staff = serializers.ListField(child=PickupStaffInput(), max_length=2)
    compartment = serializers.IntegerField(min_value=1, max_value=999)


class UnloadView(DeviceView):
    @extend_schema(
        operation_id="idpickup_device_unload",
        request=PickupUnloadInput,
        responses={200: PickupOpenOutput},
        tags=["idpickup device"],
    )
    def post(self, request: Request) -> Response:
        data = _valid(PickupUnloadInput, request.data)
        order, compartment = services.terminal_unload(
            terminal=self.terminal, staff=data["staff"], compartment_number=data["compartment"]
        )
        return Response(
            PickupOpenOutput(
                {"compartment": compartment.number, "booking_number": order.booking_number}
            ).data
        )


class PickupManualOpenInput(serializers.Serializer):
    staff = serializers.ListField(child=PickupStaffInput(), max_length=2)
    compartment = serializers.IntegerField(min_value=1, max_value=999)
    reason = StrictCharField(max_length=200)


class ManualOpenView(DeviceView):
    @extend_schema(
        operation_id="idpickup_device_open",
        request=PickupManualOpenInput,
        responses={200: PickupOpenOutput},
        tags=["idpickup device"],
    )
    def post(self, request: Request) -> Response:
        data = _valid(PickupManualOpenInput, request.data)
        compartment = services.terminal_open(
            terminal=self.terminal,
            staff=data["staff"],
            compartment_number=data["compartment"],
            reason=data["reason"],
        )
        return Response(
            PickupOpenOutput({"compartment": compartment.number, "booking_number": ""}).data
        )


class PickupIdentifyInput(serializers.Serializer):
    pin = StrictCharField(max_length=12)
    booking_number = StrictCharField(max_length=12, required=False, allow_blank=True, default="")


class PickupIdentifyOutput(serializers.Serializer):
    session = serializers.CharField(help_text="Valid for three minutes, for the verify call.")
    fingerprint_ref = serializers.CharField(
        help_text="The template reference the terminal's reader verifies against."
    )
    given_name = serializers.CharField()


class IdentifyView(DeviceView):
    @extend_schema(
        operation_id="idpickup_device_pickup_identify",
        request=PickupIdentifyInput,
        responses={200: PickupIdentifyOutput},
        tags=["idpickup device"],
    )
    def post(self, request: Request) -> Response:
        data = _valid(PickupIdentifyInput, request.data)
        order, token = services.pickup_identify(
            terminal=self.terminal, pin=data["pin"], booking_number=data["booking_number"]
        )
        return Response(
            PickupIdentifyOutput(
                {
                    "session": token,
                    "fingerprint_ref": order.fingerprint_ref,
                    "given_name": order.given_name,
                }
            ).data
        )


class PickupVerifyInput(serializers.Serializer):
    session = StrictCharField(max_length=100)
    method = serializers.ChoiceField(choices=IdOrder.Verification.values)
    matched = serializers.BooleanField()
    old_document_invalidated = serializers.BooleanField(required=False, default=False)
    receipt_confirmed = serializers.BooleanField()


class VerifyView(DeviceView):
    @extend_schema(
        operation_id="idpickup_device_pickup_verify",
        request=PickupVerifyInput,
        responses={200: PickupOpenOutput},
        tags=["idpickup device"],
    )
    def post(self, request: Request) -> Response:
        data = _valid(PickupVerifyInput, request.data)
        order, compartment = services.pickup_verify(
            terminal=self.terminal,
            session=data["session"],
            method=data["method"],
            matched=data["matched"],
            receipt_confirmed=data["receipt_confirmed"],
            old_document_invalidated=data["old_document_invalidated"],
        )
        return Response(
            PickupOpenOutput(
                {"compartment": compartment.number, "booking_number": order.booking_number}
            ).data
        )


class PickupStatusInput(serializers.Serializer):
    booking_number = StrictCharField(max_length=12)
    date_of_birth = serializers.DateField()


class PickupStatusOutput(serializers.Serializer):
    booking_number = serializers.CharField()
    status = serializers.ChoiceField(choices=IdOrder.Status.choices)
    status_label = serializers.CharField()
    kind = serializers.ChoiceField(choices=IdOrder.Kind.choices)
    location = serializers.CharField()
    pickup_until = serializers.DateTimeField(allow_null=True)


class StatusView(APIView):
    """Public: the status of an order by booking number and date of birth (rate-limited)."""

    authentication_classes: list[type[BaseAuthentication]] = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="idpickup_status_lookup",
        request=PickupStatusInput,
        responses={200: PickupStatusOutput},
        tags=["idpickup"],
        description="Unknown booking numbers and wrong dates of birth get the same 404.",
    )
    def post(self, request: Request) -> Response:
        data = _valid(PickupStatusInput, request.data)
        order = services.order_status_lookup(
            municipality=request_municipality(request._request),
            booking_number=data["booking_number"],
            date_of_birth=data["date_of_birth"],
            ip=client_address(request._request),
        )
        return Response(PickupStatusOutput(selectors.order_status_dict(order)).data)


api_urlpatterns = [
    path("idpickup/device/heartbeat/", HeartbeatView.as_view(), name="idpickup_device_heartbeat"),
    path("idpickup/device/events/", EventView.as_view(), name="idpickup_device_events"),
    path("idpickup/device/load/", LoadView.as_view(), name="idpickup_device_load"),
    path("idpickup/device/unload/", UnloadView.as_view(), name="idpickup_device_unload"),
    path("idpickup/device/open/", ManualOpenView.as_view(), name="idpickup_device_open"),
    path(
        "idpickup/device/pickup/identify/",
        IdentifyView.as_view(),
        name="idpickup_device_pickup_identify",
    ),
    path(
        "idpickup/device/pickup/verify/", VerifyView.as_view(), name="idpickup_device_pickup_verify"
    ),
    path("idpickup/status/", StatusView.as_view(), name="idpickup_status"),
]
