"""JSON API of the service assistant for robots, kiosks and phone systems (under /api/v1/).

Every request is signed by a registered device: ``X-Device-Key`` (its key id),
``X-Timestamp`` (Unix seconds, at most five minutes off), ``X-Nonce`` (16-64 characters,
never reused) and ``X-Signature``: hex HMAC-SHA256 with the device secret over the method,
the path with query, the timestamp, the nonce and the SHA-256 of the body, one per line.
See docs/modules/assistant.md.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.urls import path
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from rathaus.api.fields import StrictCharField
from rathaus.assistant import access, selectors, services
from rathaus.assistant.models import Device, QuestionStat
from rathaus.assistant.selectors import MAX_QUESTION_CHARS
from rathaus.catalog.models import Location
from rathaus.core.errors import ValidationFailed
from rathaus.core.tenancy import request_municipality


class AssistantDeviceAuthentication(BaseAuthentication):
    """A kiosk, robot or phone system signing each request with its key."""

    def authenticate(self, request: Request) -> tuple[Any, Device] | None:
        meta = request._request.META
        device = services.device_authenticate(
            municipality=request_municipality(request._request),
            key_id=str(meta.get("HTTP_X_DEVICE_KEY", "")),
            timestamp=str(meta.get("HTTP_X_TIMESTAMP", ""))[:32],
            nonce=str(meta.get("HTTP_X_NONCE", "")),
            signature=str(meta.get("HTTP_X_SIGNATURE", "")),
            method=request.method or "",
            path=request._request.get_full_path(),
            body=request._request.body,
        )
        return AnonymousUser(), device

    def authenticate_header(self, request: Request) -> str:
        return "Rathaus-Assistant-HMAC"


class AssistantDeviceScheme(OpenApiAuthenticationExtension):
    target_class = "rathaus.assistant.apis.AssistantDeviceAuthentication"
    name = "assistantDeviceSignature"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-Signature",
            "description": "HMAC-SHA256 with the device secret over method, path with query, "
            "X-Timestamp, X-Nonce and the SHA-256 of the body (one per line), sent with "
            "X-Device-Key, X-Timestamp and X-Nonce.",
        }


class IsDevice(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.auth, Device)


class DeviceView(APIView):
    authentication_classes = [AssistantDeviceAuthentication]
    permission_classes = [IsDevice]

    @property
    def device(self) -> Device:
        assert isinstance(self.request.auth, Device)
        return self.request.auth

    def location(self, location_id: int | None) -> Location:
        municipality = request_municipality(self.request._request)
        if location_id is not None:
            return access.location_public(municipality=municipality, location_id=location_id)
        if self.device.location is None:
            raise ValidationFailed(
                fields={"location_id": ["This device has no location; name one."]}
            )
        return self.device.location


def _valid(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


LANGUAGES = [("de", "Deutsch"), ("en", "English")]


class AssistantAskInput(serializers.Serializer):
    question = StrictCharField(max_length=MAX_QUESTION_CHARS, trim_whitespace=False)
    language = serializers.ChoiceField(choices=LANGUAGES, default="de")
    location_id = serializers.IntegerField(min_value=1, required=False)
    limit = serializers.IntegerField(min_value=1, max_value=20, default=5)


class AssistantWaitingOutput(serializers.Serializer):
    minutes = serializers.IntegerField(allow_null=True)
    waiting = serializers.IntegerField()
    open_counters = serializers.IntegerField()
    is_open = serializers.BooleanField()


class AssistantResultOutput(serializers.Serializer):
    service_id = serializers.CharField(source="service.source_id")
    id = serializers.IntegerField(source="service.pk")
    slug = serializers.CharField(source="service.slug")
    name = serializers.CharField()
    summary = serializers.CharField()
    score = serializers.FloatField()
    matched = serializers.ListField(child=serializers.CharField())
    documents = serializers.ListField(child=serializers.CharField())
    fees = serializers.ListField(child=serializers.CharField())
    online_mode = serializers.CharField()
    online_url = serializers.CharField()
    appointment = serializers.BooleanField()
    bookable_online = serializers.BooleanField()
    location_id = serializers.IntegerField(source="location.pk", allow_null=True, default=None)
    location_name = serializers.CharField(source="location.name", default="")
    room = serializers.CharField()
    floor = serializers.CharField()
    place = serializers.CharField(source="place_key")
    can_draw_ticket = serializers.BooleanField(source="has_queue")
    waiting = AssistantWaitingOutput(allow_null=True)


class AssistantAskOutput(serializers.Serializer):
    question = serializers.CharField()
    language = serializers.CharField()
    results = AssistantResultOutput(many=True)
    clarify = serializers.ListField(
        child=serializers.IntegerField(), help_text="Ids of services to choose between."
    )
    step_free = serializers.BooleanField()


class AskView(DeviceView):
    @extend_schema(
        operation_id="assistant_ask",
        request=AssistantAskInput,
        responses={200: AssistantAskOutput},
        tags=["assistant"],
    )
    def post(self, request: Request) -> Response:
        data = _valid(AssistantAskInput, request.data)
        municipality = request_municipality(request._request)
        location = (
            self.location(data.get("location_id"))
            if "location_id" in data or self.device.location_id
            else None
        )
        answer = selectors.assistant_answer(
            municipality=municipality,
            question=data["question"],
            language=data["language"],
            location=location,
            limit=data["limit"],
        )
        channel = (
            QuestionStat.Channel.ROBOT
            if self.device.kind == Device.Kind.ROBOT
            else QuestionStat.Channel.PHONE
            if self.device.kind == Device.Kind.PHONE
            else QuestionStat.Channel.KIOSK
        )
        services.question_record(municipality=municipality, answer=answer, channel=channel)
        output = {
            "question": answer.question,
            "language": answer.language,
            "results": answer.results,
            "clarify": [item.service.pk for item in answer.clarify],
            "step_free": selectors.needs_step_free(answer.question),
        }
        return Response(AssistantAskOutput(output).data)


class AssistantRouteInput(serializers.Serializer):
    to = StrictCharField(max_length=80, help_text="Place key, 'level:key' or room number.")
    start = StrictCharField(max_length=80, required=False, default="", allow_blank=True)
    barrier_free = serializers.BooleanField(default=False)
    language = serializers.ChoiceField(choices=LANGUAGES, default="de")
    location_id = serializers.IntegerField(min_value=1, required=False)


class AssistantWaypointOutput(serializers.Serializer):
    key = serializers.CharField()
    level = serializers.IntegerField()
    x = serializers.FloatField()
    y = serializers.FloatField()
    kind = serializers.CharField()


class AssistantRouteOutput(serializers.Serializer):
    target = serializers.CharField()
    distance = serializers.FloatField()
    barrier_free = serializers.BooleanField()
    steps = serializers.ListField(child=serializers.CharField())
    waypoints = AssistantWaypointOutput(many=True)
    stop_at = serializers.CharField(allow_null=True)
    tell_visitor = serializers.CharField()


class RouteView(DeviceView):
    @extend_schema(
        operation_id="assistant_route",
        request=AssistantRouteInput,
        responses={200: AssistantRouteOutput},
        tags=["assistant"],
    )
    def post(self, request: Request) -> Response:
        data = _valid(AssistantRouteInput, request.data)
        location = self.location(data.get("location_id"))
        _graph, route = selectors.route_for(
            location=location,
            target=data["to"],
            start=data["start"],
            barrier_free=data["barrier_free"],
            language=data["language"],
            robot=self.device,
        )
        output = {
            "target": route.target.label,
            "distance": route.distance,
            "barrier_free": route.barrier_free,
            "steps": [step.text for step in route.steps],
            "waypoints": route.waypoints(),
            "stop_at": route.robot_stop.key if route.robot_stop else None,
            "tell_visitor": route.robot_message,
        }
        return Response(AssistantRouteOutput(output).data)


class AssistantTicketInput(serializers.Serializer):
    service = serializers.IntegerField(min_value=1, help_text="Id of the service (not source id).")
    language = serializers.ChoiceField(choices=LANGUAGES, default="de")
    location_id = serializers.IntegerField(min_value=1, required=False)


class AssistantTicketOutput(serializers.Serializer):
    number = serializers.CharField()
    estimated_call_at = serializers.DateTimeField(allow_null=True)
    location = serializers.CharField()


class TicketView(DeviceView):
    @extend_schema(
        operation_id="assistant_ticket_draw",
        request=AssistantTicketInput,
        responses={201: AssistantTicketOutput},
        tags=["assistant"],
    )
    def post(self, request: Request) -> Response:
        data = _valid(AssistantTicketInput, request.data)
        municipality = request_municipality(request._request)
        location = self.location(data.get("location_id"))
        service = access.service_public(municipality=municipality, service_id=data["service"])
        ticket = services.assistant_ticket_draw(
            municipality=municipality,
            location=location,
            service=service,
            language=data["language"],
        )
        output = {
            "number": ticket.number,
            "estimated_call_at": getattr(ticket, "estimated_call_at", None),
            "location": location.name,
        }
        return Response(AssistantTicketOutput(output).data, status=201)


class AssistantSlotOutput(serializers.Serializer):
    location_id = serializers.IntegerField(source="location.pk")
    location = serializers.CharField(source="location.name")
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()


class SlotsView(DeviceView):
    @extend_schema(
        operation_id="assistant_slots",
        parameters=[
            OpenApiParameter("service", int, required=True, description="Id of the service."),
            OpenApiParameter("days", int, required=False, description="Days ahead (1-60)."),
            OpenApiParameter("location_id", int, required=False),
        ],
        responses={200: AssistantSlotOutput(many=True)},
        tags=["assistant"],
    )
    def get(self, request: Request) -> Response:
        municipality = request_municipality(request._request)
        service = access.service_public(
            municipality=municipality, service_id=request.query_params.get("service")
        )
        try:
            days = int(request.query_params.get("days", "14"))
        except ValueError:
            raise ValidationFailed(fields={"days": ["Enter a whole number."]}) from None
        location_param = request.query_params.get("location_id")
        location = (
            access.location_public(municipality=municipality, location_id=location_param)
            if location_param
            else self.device.location
        )
        slots = selectors.slots_for(
            municipality=municipality, location=location, service=service, days=days
        )
        return Response(AssistantSlotOutput(slots[:200], many=True).data)


class AssistantFeedbackInput(serializers.Serializer):
    question = StrictCharField(max_length=MAX_QUESTION_CHARS)
    language = serializers.ChoiceField(choices=LANGUAGES, default="de")
    helpful = serializers.BooleanField()


class FeedbackView(DeviceView):
    @extend_schema(
        operation_id="assistant_feedback",
        request=AssistantFeedbackInput,
        responses={204: None},
        tags=["assistant"],
    )
    def post(self, request: Request) -> Response:
        data = _valid(AssistantFeedbackInput, request.data)
        channel = (
            QuestionStat.Channel.ROBOT
            if self.device.kind == Device.Kind.ROBOT
            else QuestionStat.Channel.PHONE
            if self.device.kind == Device.Kind.PHONE
            else QuestionStat.Channel.KIOSK
        )
        services.feedback_record(
            municipality=request_municipality(request._request),
            question=data["question"],
            language=data["language"],
            channel=channel,
            helpful=data["helpful"],
        )
        return Response(status=204)


api_urlpatterns = [
    path("assistant/ask/", AskView.as_view(), name="assistant-ask"),
    path("assistant/route/", RouteView.as_view(), name="assistant-route"),
    path("assistant/tickets/", TicketView.as_view(), name="assistant-ticket"),
    path("assistant/slots/", SlotsView.as_view(), name="assistant-slots"),
    path("assistant/feedback/", FeedbackView.as_view(), name="assistant-feedback"),
]
