"""API of adaptive traffic signal control (under /api/v1/traffic/).

Field devices and fleet systems post detector readings and priority requests with an API
token of a staff account that holds ``traffic.manage_signals``.
"""

from typing import Any

from django.urls import URLPattern, path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from rathaus.api.fields import StrictCharField
from rathaus.core.tenancy import request_municipality
from rathaus.traffic import access, selectors, services
from rathaus.traffic.control.timetable import DAY_TYPES
from rathaus.traffic.models import MANAGE_PERMISSION, VIEW_PERMISSION, PriorityRequest


class ReadingInput(serializers.Serializer):
    detector = serializers.IntegerField()
    measured_at = serializers.DateTimeField()
    count = serializers.IntegerField()
    occupancy = serializers.FloatField()


class ReadingsInput(serializers.Serializer):
    readings = serializers.ListField(
        child=ReadingInput(), allow_empty=False, max_length=services.MAX_BATCH
    )


class GapOutput(serializers.Serializer):
    detector = serializers.IntegerField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()


class ReadingsOutput(serializers.Serializer):
    accepted = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    gaps = GapOutput(many=True)


class ReadingsApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="traffic_readings_create",
        request=ReadingsInput,
        responses={201: ReadingsOutput},
        summary="Store detector readings (validated; gaps are reported, not filled)",
    )
    def post(self, request: Request) -> Response:
        access.require(request.user, MANAGE_PERMISSION)
        data = ReadingsInput(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.readings_ingest(
            municipality=request_municipality(request),
            readings=data.validated_data["readings"],
        )
        return Response(
            ReadingsOutput(
                {"accepted": result.accepted, "duplicates": result.duplicates, "gaps": result.gaps}
            ).data,
            status=status.HTTP_201_CREATED,
        )


class PriorityInput(serializers.Serializer):
    intersection = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=PriorityRequest.Kind.choices)
    vehicle = StrictCharField(max_length=64)
    group = serializers.IntegerField(min_value=0)


class PriorityOutput(serializers.Serializer):
    id = serializers.IntegerField()
    intersection = serializers.IntegerField(source="intersection_id")
    kind = serializers.CharField()
    vehicle = serializers.CharField()
    group = serializers.IntegerField(source="group.index")
    received_at = serializers.DateTimeField()


class PriorityApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="traffic_priority_create",
        request=PriorityInput,
        responses={201: PriorityOutput},
        summary="Request priority for a bus or an emergency vehicle",
    )
    def post(self, request: Request) -> Response:
        access.require(request.user, MANAGE_PERMISSION)
        data = PriorityInput(data=request.data)
        data.is_valid(raise_exception=True)
        created = services.priority_request_receive(
            municipality=request_municipality(request),
            intersection_id=data.validated_data["intersection"],
            kind=data.validated_data["kind"],
            vehicle=data.validated_data["vehicle"],
            group=data.validated_data["group"],
        )
        return Response(PriorityOutput(created).data, status=status.HTTP_201_CREATED)


class IntersectionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    sumo_id = serializers.CharField()
    live_state = serializers.JSONField()
    live_at = serializers.DateTimeField(allow_null=True)


class IntersectionListApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="traffic_intersections_list",
        responses={200: IntersectionOutput(many=True)},
        summary="Intersections with their current state",
    )
    def get(self, request: Request) -> Response:
        access.require(request.user, VIEW_PERMISSION)
        rows: Any = selectors.intersection_list(municipality=request_municipality(request))
        return Response(IntersectionOutput(rows[:500], many=True).data)


class GreenOutput(serializers.Serializer):
    phase = serializers.IntegerField(help_text="The phase's order at the intersection.")
    green = serializers.FloatField(help_text="Green time in seconds.")
    intergreen = serializers.FloatField(
        required=False, help_text="Seconds from the end of this green to the next one."
    )


class TimetablePlanOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    version = serializers.IntegerField()
    starts_at = serializers.TimeField(format="%H:%M")
    ends_at = serializers.TimeField(
        format="%H:%M",
        help_text="An end before the start runs over midnight; equal to the start, the whole day.",
    )
    whole_day = serializers.BooleanField()
    days = serializers.ListField(
        child=serializers.ChoiceField(choices=list(DAY_TYPES)),
        help_text="The day types on which the window holds: mo, tu, we, th, fr, sa, su, and "
        "ph for the public holidays of the municipality's state, which are a day type of their "
        "own whatever their weekday. A moment's day type is that of its own date, also in the "
        "hours after midnight of a window that runs over midnight.",
    )
    cycle = serializers.FloatField(help_text="Cycle time (Umlaufzeit) in seconds.")
    offset = serializers.FloatField(help_text="Offset (Versatzzeit) in seconds.")
    greens = GreenOutput(many=True)
    approved_at = serializers.DateTimeField(allow_null=True)


class SpanOutput(serializers.Serializer):
    starts_at = serializers.CharField(help_text="HH:MM")
    ends_at = serializers.CharField(help_text="HH:MM; 24:00 is the end of the day.")


class TimetableOutput(serializers.Serializer):
    intersection = serializers.IntegerField()
    sumo_id = serializers.CharField()
    time_zone = serializers.CharField(help_text="The zone of the windows' times of day.")
    day_type = serializers.ChoiceField(
        choices=list(DAY_TYPES), help_text="Today's day type (ph on a public holiday)."
    )
    holiday = serializers.CharField(
        allow_null=True, help_text="The public holiday today is, by its German name, or null."
    )
    in_force = serializers.IntegerField(
        allow_null=True, help_text="The plan in force now; null: the base program runs."
    )
    plans = TimetablePlanOutput(many=True)
    without_plan = SpanOutput(
        many=True, help_text="Times of today (its day type) on the base program."
    )


class TimetableApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="traffic_timetable_retrieve",
        responses={200: TimetableOutput},
        summary="The approved signal plans of an intersection by time of day",
        description="What a field controller (or its gateway) runs: only active plans, "
        "approved by a second person; drafts never appear here.",
    )
    def get(self, request: Request, intersection_id: int) -> Response:
        intersection = access.intersection_for_user(
            user=request.user,
            municipality=request_municipality(request),
            intersection_id=intersection_id,
            permission=VIEW_PERMISSION,
        )
        timetable = selectors.plan_timetable(intersection=intersection)
        current = timetable["in_force"]
        return Response(
            TimetableOutput(
                {
                    "intersection": intersection.pk,
                    "sumo_id": intersection.sumo_id,
                    "time_zone": str(timetable["at"].tzinfo),
                    "day_type": timetable["day_type"],
                    "holiday": timetable["holiday"],
                    "in_force": current.pk if current else None,
                    "plans": timetable["plans"],
                    "without_plan": [
                        {"starts_at": a, "ends_at": b} for a, b in timetable["without_plan"]
                    ],
                }
            ).data
        )


api_urlpatterns: list[URLPattern] = [
    path("traffic/detector-readings/", ReadingsApi.as_view(), name="traffic-readings"),
    path("traffic/priority-requests/", PriorityApi.as_view(), name="traffic-priority"),
    path("traffic/intersections/", IntersectionListApi.as_view(), name="traffic-intersections"),
    path(
        "traffic/intersections/<int:intersection_id>/timetable/",
        TimetableApi.as_view(),
        name="traffic-timetable",
    ),
]
