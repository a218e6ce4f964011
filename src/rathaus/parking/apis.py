"""API of parking management (under /api/v1/parking/).

Open data (anonymous reads, the host's municipality): a ParkAPI v3-compatible view of
sites and spaces, a DATEX II v3 ParkingStatusPublication, forecasts, recommendations
and the texts of guidance signs (polled by sign controllers). Writes need an API token
with a permission: pushing live readings (``parking.push_readings``) and checking in a
reservation at arrival (``parking.check_in_reservations``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast
from xml.sax.saxutils import escape

from django.http import HttpResponse
from django.urls import path
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from rathaus.api.fields import StrictCharField
from rathaus.core.errors import ValidationFailed
from rathaus.core.tenancy import request_municipality
from rathaus.parking import access, datex, selectors, services
from rathaus.parking.inbound import ParseError, push_csv_parse, push_json_parse
from rathaus.parking.models import (
    CHECK_IN,
    PUSH_READINGS,
    ParkingSite,
    RestrictionKind,
    SiteKind,
    Source,
    Space,
)

PARKAPI_TYPES = {
    SiteKind.CAR_PARK: "CAR_PARK",
    SiteKind.UNDERGROUND: "UNDERGROUND",
    SiteKind.OFF_STREET_PARKING_GROUND: "OFF_STREET_PARKING_GROUND",
    SiteKind.ON_STREET: "ON_STREET",
    SiteKind.PARK_AND_RIDE: "OFF_STREET_PARKING_GROUND",
}
RESTRICTION_FIELDS = {
    RestrictionKind.DISABLED: "disabled",
    RestrictionKind.CHARGING: "charging",
    RestrictionKind.FAMILY: "family",
    RestrictionKind.WOMEN: "woman",
    RestrictionKind.MOTORBIKE: "motorbike",
}


def _site_item(site: ParkingSite, now: datetime) -> dict[str, Any]:
    state = selectors.site_state(site, now=now)
    restrictions = {r.kind: r for r in site.restrictions.all()}
    item: dict[str, Any] = {
        "id": site.pk,
        "original_uid": site.external_id,
        "name": site.name,
        "operator_name": site.operator or None,
        "address": site.address or None,
        "type": PARKAPI_TYPES[SiteKind(site.kind)],
        "park_and_ride_type": ["YES"] if site.kind == SiteKind.PARK_AND_RIDE else [],
        "lat": f"{site.lat:.6f}",
        "lon": f"{site.lon:.6f}",
        "capacity": site.capacity,
        "has_fee": site.fee_per_hour is not None and site.fee_per_hour > 0,
        "fee_description": site.fee_description or None,
        "max_stay": site.max_stay_minutes * 60 if site.max_stay_minutes else None,
        "max_height": site.max_height_cm,
        "opening_hours": site.opening_hours or None,
        "has_realtime_data": site.realtime_at is not None,
        "realtime_data_updated_at": site.realtime_at,
        "realtime_data_outdated": state.stale,
        "realtime_opening_status": "UNKNOWN"
        if state.open is None
        else ("OPEN" if state.open else "CLOSED"),
        "realtime_capacity": None if state.stale else site.capacity,
        "realtime_free_capacity": state.free,
        "static_data_updated_at": site.updated_at,
    }
    for kind, name in RESTRICTION_FIELDS.items():
        restriction = restrictions.get(kind)
        item[f"capacity_{name}"] = restriction.capacity if restriction else None
        item[f"realtime_free_capacity_{name}"] = (
            restriction.realtime_free if restriction and not state.stale else None
        )
    return item


class ParkApiSiteOutput(serializers.Serializer):
    id = serializers.IntegerField()
    original_uid = serializers.CharField()
    name = serializers.CharField()
    operator_name = serializers.CharField(allow_null=True)
    address = serializers.CharField(allow_null=True)
    type = serializers.ChoiceField(choices=sorted(set(PARKAPI_TYPES.values())))
    park_and_ride_type = serializers.ListField(child=serializers.CharField())
    lat = serializers.CharField(help_text="Decimal degrees (WGS 84) as a string")
    lon = serializers.CharField(help_text="Decimal degrees (WGS 84) as a string")
    capacity = serializers.IntegerField()
    has_fee = serializers.BooleanField()
    fee_description = serializers.CharField(allow_null=True)
    max_stay = serializers.IntegerField(allow_null=True, help_text="Seconds")
    max_height = serializers.IntegerField(allow_null=True, help_text="Centimetres")
    opening_hours = serializers.CharField(allow_null=True, help_text="OpenStreetMap syntax")
    has_realtime_data = serializers.BooleanField()
    realtime_data_updated_at = serializers.DateTimeField(allow_null=True)
    realtime_data_outdated = serializers.BooleanField(
        help_text="Extension: true when the last reading is older than 30 minutes; the "
        "realtime values are then null"
    )
    realtime_opening_status = serializers.ChoiceField(choices=["OPEN", "CLOSED", "UNKNOWN"])
    realtime_capacity = serializers.IntegerField(allow_null=True)
    realtime_free_capacity = serializers.IntegerField(allow_null=True)
    static_data_updated_at = serializers.DateTimeField()
    capacity_disabled = serializers.IntegerField(allow_null=True)
    realtime_free_capacity_disabled = serializers.IntegerField(allow_null=True)
    capacity_charging = serializers.IntegerField(allow_null=True)
    realtime_free_capacity_charging = serializers.IntegerField(allow_null=True)
    capacity_family = serializers.IntegerField(allow_null=True)
    realtime_free_capacity_family = serializers.IntegerField(allow_null=True)
    capacity_woman = serializers.IntegerField(allow_null=True)
    realtime_free_capacity_woman = serializers.IntegerField(allow_null=True)
    capacity_motorbike = serializers.IntegerField(allow_null=True)
    realtime_free_capacity_motorbike = serializers.IntegerField(allow_null=True)


class ParkApiSiteListOutput(serializers.Serializer):
    items = ParkApiSiteOutput(many=True)


class ParkApiSitesView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="parking_parkapi_sites", responses=ParkApiSiteListOutput, tags=["parking"]
    )
    def get(self, request: Request) -> Response:
        """All parking sites with realtime values, in the ParkAPI v3 shape (one page)."""
        now = timezone.now()
        sites = selectors.sites_public(municipality=request_municipality(request))
        return Response({"items": [_site_item(site, now) for site in sites]})


class ParkApiSiteView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="parking_parkapi_site", responses=ParkApiSiteOutput, tags=["parking"]
    )
    def get(self, request: Request, site_id: int) -> Response:
        """One parking site in the ParkAPI v3 shape."""
        site = access.site_public(municipality=request_municipality(request), site_id=site_id)
        return Response(_site_item(site, timezone.now()))


class ParkApiSpotOutput(serializers.Serializer):
    id = serializers.IntegerField()
    original_uid = serializers.CharField()
    parking_site_id = serializers.IntegerField()
    restricted_to = serializers.CharField(allow_null=True)
    realtime_status = serializers.ChoiceField(choices=["AVAILABLE", "TAKEN", "UNKNOWN"])
    realtime_data_updated_at = serializers.DateTimeField(allow_null=True)


class ParkApiSpotListOutput(serializers.Serializer):
    items = ParkApiSpotOutput(many=True)


class ParkApiSpotsView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="parking_parkapi_spots", responses=ParkApiSpotListOutput, tags=["parking"]
    )
    def get(self, request: Request) -> Response:
        """Single spaces with sensors, in the ParkAPI v3 shape; stale ones are UNKNOWN."""
        now = timezone.now()
        spaces = Space.objects.filter(
            municipality=request_municipality(request), site__is_active=True
        ).order_by("site_id", "external_id")
        items = []
        for space in spaces:
            fresh = space.occupied_at is not None and now - space.occupied_at <= timedelta(
                minutes=30
            )
            status = (
                "UNKNOWN"
                if not fresh or space.occupied is None
                else ("TAKEN" if space.occupied else "AVAILABLE")
            )
            items.append(
                {
                    "id": space.pk,
                    "original_uid": space.external_id,
                    "parking_site_id": space.site_id,
                    "restricted_to": RESTRICTION_FIELDS.get(
                        RestrictionKind(space.restriction)
                    ).upper()  # type: ignore[union-attr]
                    if space.restriction
                    else None,
                    "realtime_status": status,
                    "realtime_data_updated_at": space.occupied_at,
                }
            )
        return Response({"items": items})


class XmlRenderer(BaseRenderer):
    media_type = "application/xml"
    format = "xml"
    charset = None

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        if isinstance(data, bytes):
            return data
        # An error of the platform's shape ({"error": {"code", "message"}}) as XML.
        error = data.get("error", {}) if isinstance(data, dict) else {}
        code = escape(str(error.get("code", "error")), {'"': "&quot;"})
        message = escape(str(error.get("message", "")))
        head = '<?xml version="1.0" encoding="UTF-8"?>\n'
        return f'{head}<error code="{code}">{message}</error>\n'.encode()


class DatexStatusView(APIView):
    permission_classes = [AllowAny]
    # XML only: a DATEX II client asks for XML, and errors come as XML too.
    renderer_classes = [XmlRenderer]

    @extend_schema(
        operation_id="parking_datex_status",
        responses={
            (200, "application/xml"): OpenApiResponse(
                OpenApiTypes.STR, description="DATEX II v3 ParkingStatusPublication"
            )
        },
        tags=["parking"],
    )
    def get(self, request: Request) -> HttpResponse:
        """Live status of every site as a DATEX II v3 ParkingStatusPublication (XML).
        Stale sites appear with status ``unknown`` and without numbers."""
        municipality = request_municipality(request)
        now = timezone.now()
        states = [
            selectors.site_state(site, now=now)
            for site in selectors.sites_public(municipality=municipality)
        ]
        body = datex.status_render(
            publisher=f"rathaus-{municipality.slug}",
            country="DE",
            now=now,
            sites=[
                datex.SiteStatus(s.site.external_id, s.site.capacity, s.free, s.at, s.stale, s.open)
                for s in states
            ],
        )
        return HttpResponse(body, content_type="application/xml; charset=utf-8")


class ParkingForecastRowOutput(serializers.Serializer):
    horizon = serializers.IntegerField(help_text="Minutes from now")
    free = serializers.IntegerField()
    free_low = serializers.IntegerField(help_text="Lower end of the 80 % band")
    free_high = serializers.IntegerField(help_text="Upper end of the 80 % band")


class ParkingForecastOutput(serializers.Serializer):
    site = serializers.IntegerField()
    stale = serializers.BooleanField()
    free_now = serializers.IntegerField(allow_null=True)
    forecasts = ParkingForecastRowOutput(many=True)


class ForecastView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="parking_site_forecast", responses=ParkingForecastOutput, tags=["parking"]
    )
    def get(self, request: Request, site_id: int) -> Response:
        """Free spaces at +15, +30, +60 and +120 minutes with an 80 % band."""
        site = access.site_public(municipality=request_municipality(request), site_id=site_id)
        state = selectors.site_state(site)
        return Response(
            {
                "site": site.pk,
                "stale": state.stale,
                "free_now": state.free,
                "forecasts": selectors.site_forecasts(site),
            }
        )


class ParkingRecommendationInput(serializers.Serializer):
    lat = serializers.FloatField(min_value=-90, max_value=90)
    lon = serializers.FloatField(min_value=-180, max_value=180)
    arrival = serializers.DateTimeField(
        required=False, help_text="When you arrive (default now; a time in the past counts as now)."
    )
    needs = serializers.MultipleChoiceField(
        choices=["DISABLED", "CHARGING", "FAMILY", "WOMEN", "MOTORBIKE"], required=False
    )
    height_cm = serializers.IntegerField(min_value=100, max_value=500, required=False)


class ParkingRecommendationOutput(serializers.Serializer):
    site = serializers.IntegerField()
    name = serializers.CharField()
    free_on_arrival = serializers.IntegerField(allow_null=True)
    walking_minutes = serializers.IntegerField()
    fee_per_hour = serializers.FloatField(allow_null=True)


class RecommendationsView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="parking_recommendations",
        parameters=[ParkingRecommendationInput],
        responses=ParkingRecommendationOutput(many=True),
        tags=["parking"],
    )
    def get(self, request: Request) -> Response:
        """Sites for a destination and arrival time, best first."""
        # A plain dict, not the QueryDict: DRF reads a blank form value as "not given",
        # but "arrival=" is a malformed time, not a missing one.
        params: dict[str, Any] = request.query_params.dict()
        if "needs" in request.query_params:
            params["needs"] = request.query_params.getlist("needs")
        data = ParkingRecommendationInput(data=params)
        data.is_valid(raise_exception=True)
        now = timezone.now()
        # An arrival in the past means now; far ahead, the forecast is the site's weekly
        # profile (the current deviation has faded by then).
        arrival = max(data.validated_data.get("arrival") or now, now)
        found = selectors.recommendations(
            municipality=request_municipality(request),
            lat=data.validated_data["lat"],
            lon=data.validated_data["lon"],
            arrival=arrival,
            needs=set(data.validated_data.get("needs") or ()),
            vehicle_height_cm=data.validated_data.get("height_cm"),
            now=now,
        )
        return Response(
            [
                {
                    "site": r.site.pk,
                    "name": r.site.name,
                    "free_on_arrival": r.free_on_arrival,
                    "walking_minutes": r.walking_minutes,
                    "fee_per_hour": r.fee_per_hour,
                }
                for r in found
            ]
        )


class ParkingSignLineOutput(serializers.Serializer):
    text = serializers.CharField(help_text='e.g. "P Marstall 123 frei", "P Marstall besetzt"')
    free = serializers.IntegerField(allow_null=True)
    status = serializers.ChoiceField(choices=["free", "full", "closed", "no_data"])
    arrow = serializers.ChoiceField(choices=["", "left", "right", "straight"])
    site = serializers.CharField()


class ParkingSignOutput(serializers.Serializer):
    sign = serializers.CharField()
    name = serializers.CharField()
    generated_at = serializers.DateTimeField()
    event_mode = serializers.CharField(allow_null=True)
    message = serializers.CharField(allow_blank=True)
    lines = ParkingSignLineOutput(many=True)


class SignView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(operation_id="parking_sign", responses=ParkingSignOutput, tags=["parking"])
    def get(self, request: Request, key: str) -> Response:
        """What a guidance sign shows now; sign controllers poll this (e.g. every 30 s)."""
        sign = access.sign_public(municipality=request_municipality(request), key=key)
        return Response(ParkingSignOutput(selectors.sign_display(sign)).data)


class ParkingPushReadingInput(serializers.Serializer):
    site = StrictCharField(max_length=64)
    space = StrictCharField(max_length=64, required=False)
    free = serializers.IntegerField(required=False)
    occupied = serializers.BooleanField(required=False)
    at = serializers.DateTimeField()


class ParkingPushInput(serializers.Serializer):
    readings = ParkingPushReadingInput(many=True)


class ParkingProblemOutput(serializers.Serializer):
    reason = serializers.CharField()
    detail = serializers.CharField()


class ParkingPushOutput(serializers.Serializer):
    accepted = serializers.IntegerField()
    rejected = ParkingProblemOutput(many=True)
    corrected = ParkingProblemOutput(many=True)


class CsvParser(BaseParser):
    media_type = "text/csv"

    # The raw body is the data: the CSV is parsed by ``inbound.push_csv_parse``.
    def parse(  # type: ignore[override]
        self, stream: Any, media_type: str | None = None, parser_context: Any = None
    ) -> bytes:
        return bytes(stream.read()) if stream is not None else b""


def _push(request: Request, parse: Any) -> Response:
    municipality = request_municipality(request)
    access.require(user=request.user, municipality=municipality, permission=PUSH_READINGS)
    try:
        readings, errors = parse(municipality.slug)
    except ParseError as error:
        raise ValidationFailed(error.detail, code=error.reason) from error
    result = services.readings_ingest(
        readings=readings, source=Source.PUSH, municipality=municipality
    )
    for problem in errors:
        services.rejection_log(
            municipality=municipality,
            source=Source.PUSH,
            reason=problem.reason,
            detail=problem.detail,
        )
    rejected = [{"reason": e.reason, "detail": e.detail} for e in errors] + [
        {"reason": r, "detail": d} for r, d in result.rejected
    ]
    return Response(
        {
            "accepted": result.accepted,
            "rejected": rejected,
            "corrected": [{"reason": r, "detail": d} for r, d in result.corrected],
        }
    )


class PushJsonView(APIView):
    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="parking_push_json",
        request=ParkingPushInput,
        responses=ParkingPushOutput,
        tags=["parking"],
    )
    def post(self, request: Request) -> Response:
        """Push live readings (at most 1000) as JSON: site counts (``free``) or single
        spaces (``space`` + ``occupied``). Each refused reading is listed with its reason."""
        return _push(request, lambda tenant: push_json_parse(tenant, request.data))


class PushCsvView(APIView):
    permission_classes = [IsAuthenticated]
    parser_classes = [CsvParser]

    @extend_schema(
        operation_id="parking_push_csv",
        request={"text/csv": OpenApiTypes.STR},
        responses=ParkingPushOutput,
        tags=["parking"],
    )
    def post(self, request: Request) -> Response:
        """Push live readings as UTF-8 CSV with the header ``site,free,at`` or
        ``site,space,occupied,at``."""
        return _push(request, lambda tenant: push_csv_parse(tenant, cast(bytes, request.data)))


class ParkingCheckInInput(serializers.Serializer):
    code = StrictCharField(max_length=32, required=False, allow_blank=True)
    plate = StrictCharField(max_length=12, required=False, allow_blank=True)


class ParkingCheckInOutput(serializers.Serializer):
    reservation = serializers.IntegerField()
    plate = serializers.CharField()
    ends_at = serializers.DateTimeField()


class CheckInView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="parking_space_check_in",
        request=ParkingCheckInInput,
        responses=ParkingCheckInOutput,
        tags=["parking"],
    )
    def post(self, request: Request, space_id: int) -> Response:
        """At the barrier or by the enforcement app: the QR code or the number plate of a
        reservation due now. 403 with code ``no_reservation`` when none matches."""
        municipality = request_municipality(request)
        space = access.space_for_operator(
            user=request.user, municipality=municipality, space_id=space_id, permission=CHECK_IN
        )
        data = ParkingCheckInInput(data=request.data)
        data.is_valid(raise_exception=True)
        reservation = services.reservation_check_in(
            space=space,
            code=data.validated_data.get("code", ""),
            plate=data.validated_data.get("plate", ""),
        )
        return Response(
            {
                "reservation": reservation.pk,
                "plate": reservation.plate,
                "ends_at": reservation.ends_at,
            }
        )


api_urlpatterns = [
    path(
        "parking/parkapi/v3/parking-sites", ParkApiSitesView.as_view(), name="parking-parkapi-sites"
    ),
    path(
        "parking/parkapi/v3/parking-sites/<int:site_id>",
        ParkApiSiteView.as_view(),
        name="parking-parkapi-site",
    ),
    path(
        "parking/parkapi/v3/parking-spots", ParkApiSpotsView.as_view(), name="parking-parkapi-spots"
    ),
    path("parking/datex/status.xml", DatexStatusView.as_view(), name="parking-datex-status"),
    path("parking/sites/<int:site_id>/forecast", ForecastView.as_view(), name="parking-forecast"),
    path("parking/recommendations", RecommendationsView.as_view(), name="parking-recommendations"),
    path("parking/signs/<slug:key>", SignView.as_view(), name="parking-sign"),
    path("parking/push", PushJsonView.as_view(), name="parking-push"),
    path("parking/push.csv", PushCsvView.as_view(), name="parking-push-csv"),
    path("parking/spaces/<int:space_id>/check-in", CheckInView.as_view(), name="parking-check-in"),
]
