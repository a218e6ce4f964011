"""API of the Bürgerbüro (under /api/v1/): live waiting times ("ampel"), free slots, and
the public state of a ticket. Public information, anonymous reads, scoped to the host's
municipality; errors in the platform's one shape."""

from datetime import date
from typing import Any

from django.urls import URLPattern, path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from rathaus.buergerbuero import access, selectors
from rathaus.core.errors import ValidationFailed
from rathaus.core.tenancy import request_municipality

MAX_SLOTS = 500


class BuergerbueroWaitingOutput(serializers.Serializer):
    location_id = serializers.IntegerField()
    name = serializers.CharField()
    is_open = serializers.BooleanField()
    minutes = serializers.IntegerField(allow_null=True)
    waiting = serializers.IntegerField()
    open_counters = serializers.IntegerField()
    opens_at = serializers.DateTimeField(allow_null=True)
    closes_at = serializers.DateTimeField(allow_null=True)
    level = serializers.ChoiceField(choices=["closed", "green", "amber", "red"])


def _level(estimate: selectors.WaitingEstimate) -> str:
    if not estimate.is_open or estimate.minutes is None:
        return "closed"
    if estimate.minutes < 15:
        return "green"
    return "amber" if estimate.minutes < 40 else "red"


def _waiting_data(office: Any) -> dict[str, Any]:
    estimate = selectors.waiting_estimate(location=office.location)
    return {
        "location_id": office.location_id,
        "name": office.location.name,
        "is_open": estimate.is_open,
        "minutes": estimate.minutes,
        "waiting": estimate.waiting,
        "open_counters": estimate.open_counters,
        "opens_at": estimate.opens_at,
        "closes_at": estimate.closes_at,
        "level": _level(estimate),
    }


class WaitingListView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="buergerbuero_waiting_list",
        responses=BuergerbueroWaitingOutput(many=True),
        tags=["buergerbuero"],
    )
    def get(self, request: Request) -> Response:
        """Live waiting time of every office of this municipality."""
        offices = selectors.offices_active(municipality=request_municipality(request))
        return Response(
            BuergerbueroWaitingOutput([_waiting_data(o) for o in offices], many=True).data
        )


class WaitingDetailView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="buergerbuero_waiting_retrieve",
        responses=BuergerbueroWaitingOutput,
        tags=["buergerbuero"],
    )
    def get(self, request: Request, location_id: int) -> Response:
        """Live waiting time of one office."""
        office = access.office_public(
            municipality=request_municipality(request), location_id=location_id
        )
        return Response(BuergerbueroWaitingOutput(_waiting_data(office)).data)


class BuergerbueroSlotOutput(serializers.Serializer):
    location_id = serializers.IntegerField(source="location.pk")
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()


class BuergerbueroSlotQuery(serializers.Serializer):
    service = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**31 - 1),
        min_length=1,
        max_length=5,
    )
    location = serializers.IntegerField(min_value=1, max_value=2**31 - 1, required=False)
    start = serializers.DateField(required=False)
    days = serializers.IntegerField(min_value=1, max_value=120, required=False)


class SlotListView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="buergerbuero_slots_list",
        parameters=[
            OpenApiParameter(
                "service",
                {
                    "type": "array",
                    "items": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
                    "minItems": 1,
                    "maxItems": 5,
                },
                required=True,
                explode=True,
                style="form",
            ),
            OpenApiParameter("location", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}),
            OpenApiParameter("start", date),
            OpenApiParameter("days", {"type": "integer", "minimum": 1, "maximum": 120}),
        ],
        responses=BuergerbueroSlotOutput(many=True),
        tags=["buergerbuero"],
    )
    def get(self, request: Request) -> Response:
        """Free appointment times for one or several services (their durations add up)."""
        municipality = request_municipality(request)
        query = BuergerbueroSlotQuery(
            data={
                "service": request.query_params.getlist("service"),
                **{
                    key: request.query_params[key]
                    for key in ("location", "start", "days")
                    if key in request.query_params
                },
            }
        )
        if not query.is_valid():
            raise ValidationFailed(fields={k: [str(m) for m in v] for k, v in query.errors.items()})
        data = query.validated_data
        services = access.services_public(municipality=municipality, service_ids=data["service"])
        location = None
        if "location" in data:
            location = access.location_public(
                municipality=municipality, location_id=data["location"]
            )
        slots = selectors.free_slots(
            location=location,
            services=services,
            municipality=municipality,
            start=data.get("start"),
            days=data.get("days"),
        )[:MAX_SLOTS]
        return Response(BuergerbueroSlotOutput(slots, many=True).data)


class BuergerbueroTicketOutput(serializers.Serializer):
    number = serializers.CharField()
    status = serializers.CharField()
    estimated_call_at = serializers.DateTimeField(allow_null=True)
    position = serializers.IntegerField(allow_null=True)
    counter = serializers.CharField(allow_null=True)
    room = serializers.CharField(allow_null=True)
    floor = serializers.CharField(allow_null=True)


class TicketDetailView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="buergerbuero_ticket_retrieve",
        responses=BuergerbueroTicketOutput,
        tags=["buergerbuero"],
    )
    def get(self, request: Request, token: str) -> Response:
        """The public state of a ticket (the token is the secret of its status page)."""
        ticket = access.ticket_by_token(municipality=request_municipality(request), token=token)
        counter = ticket.counter if ticket.status == "called" else None
        return Response(
            BuergerbueroTicketOutput(
                {
                    "number": ticket.number,
                    "status": ticket.status,
                    "estimated_call_at": ticket.estimated_call_at,
                    "position": selectors.ticket_position(ticket),
                    "counter": counter.name if counter else None,
                    "room": counter.room if counter else None,
                    "floor": counter.floor if counter else None,
                }
            ).data
        )


api_urlpatterns: list[URLPattern] = [
    path("buergerbuero/waiting/", WaitingListView.as_view(), name="api-buergerbuero-waiting"),
    path(
        "buergerbuero/waiting/<int:location_id>/",
        WaitingDetailView.as_view(),
        name="api-buergerbuero-waiting-detail",
    ),
    path("buergerbuero/slots/", SlotListView.as_view(), name="api-buergerbuero-slots"),
    path(
        "buergerbuero/tickets/<str:token>/",
        TicketDetailView.as_view(),
        name="api-buergerbuero-ticket",
    ),
]
