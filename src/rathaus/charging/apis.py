"""Open charging data under /api/v1/charging/: locations and tariffs modelled on OCPI 2.2.1.

AFIR (EU 2023/1804, Art. 20) asks operators to publish static and dynamic data of public
charging points; navigation apps and the national access point read OCPI Locations.
The data is public, so reads are anonymous; each host sees its municipality.
"""

from datetime import UTC, datetime

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from rathaus.charging import access, selectors
from rathaus.charging.models import Tariff
from rathaus.core.tenancy import request_municipality


class ChargingCoordinatesOutput(serializers.Serializer):
    latitude = serializers.CharField()
    longitude = serializers.CharField()


class ChargingConnectorOutput(serializers.Serializer):
    id = serializers.CharField()
    standard = serializers.ChoiceField(
        choices=["IEC_62196_T2", "IEC_62196_T2_COMBO", "CHADEMO", "DOMESTIC_F"]
    )
    format = serializers.ChoiceField(choices=["SOCKET", "CABLE"])
    power_type = serializers.ChoiceField(choices=["AC_3_PHASE", "DC"])
    max_voltage = serializers.IntegerField()
    max_amperage = serializers.IntegerField()
    max_electric_power = serializers.IntegerField(help_text="watts")
    tariff_ids = serializers.ListField(child=serializers.CharField())
    last_updated = serializers.CharField()


class ChargingEvseOutput(serializers.Serializer):
    uid = serializers.CharField()
    evse_id = serializers.CharField(help_text="eMI3 EVSE id")
    status = serializers.ChoiceField(
        choices=[
            "AVAILABLE",
            "BLOCKED",
            "CHARGING",
            "INOPERATIVE",
            "OUTOFORDER",
            "RESERVED",
            "UNKNOWN",
        ],
        help_text="live availability (dynamic data); UNKNOWN while the station is offline",
    )
    capabilities = serializers.ListField(child=serializers.CharField())
    connectors = ChargingConnectorOutput(many=True)
    last_updated = serializers.CharField()


class ChargingOperatorOutput(serializers.Serializer):
    name = serializers.CharField()


class ChargingOpeningTimesOutput(serializers.Serializer):
    twentyfourseven = serializers.BooleanField()
    description = serializers.CharField(help_text="access hours as text, empty when 24/7")


class ChargingLocationOutput(serializers.Serializer):
    country_code = serializers.CharField()
    party_id = serializers.CharField()
    id = serializers.CharField()
    publish = serializers.BooleanField()
    name = serializers.CharField()
    address = serializers.CharField()
    city = serializers.CharField()
    postal_code = serializers.CharField()
    country = serializers.CharField()
    coordinates = ChargingCoordinatesOutput()
    parking_type = serializers.CharField()
    evses = ChargingEvseOutput(many=True)
    operator = ChargingOperatorOutput()
    time_zone = serializers.CharField()
    opening_times = ChargingOpeningTimesOutput()
    related_locations_url = serializers.CharField(help_text="parking map of this place, if any")
    last_updated = serializers.CharField()


class ChargingLocationListOutput(serializers.Serializer):
    data = ChargingLocationOutput(many=True)  # type: ignore[assignment]
    status_code = serializers.IntegerField()
    timestamp = serializers.CharField()


class ChargingLocationEnvelopeOutput(serializers.Serializer):
    data = ChargingLocationOutput()  # type: ignore[assignment]
    status_code = serializers.IntegerField()
    timestamp = serializers.CharField()


class ChargingPriceComponentOutput(serializers.Serializer):
    type = serializers.ChoiceField(choices=["ENERGY", "TIME", "PARKING_TIME"])
    price = serializers.FloatField(help_text="euro incl. VAT per kWh or per hour")
    step_size = serializers.IntegerField()


class ChargingRestrictionsOutput(serializers.Serializer):
    min_duration = serializers.IntegerField(help_text="seconds")


class ChargingTariffElementOutput(serializers.Serializer):
    price_components = ChargingPriceComponentOutput(many=True)
    restrictions = ChargingRestrictionsOutput(allow_null=True)


class ChargingAltTextOutput(serializers.Serializer):
    language = serializers.CharField()
    text = serializers.CharField()


class ChargingMaxPriceOutput(serializers.Serializer):
    incl_vat = serializers.FloatField()


class ChargingTariffOutput(serializers.Serializer):
    country_code = serializers.CharField()
    party_id = serializers.CharField()
    id = serializers.CharField()
    currency = serializers.CharField()
    type = serializers.CharField()
    tariff_alt_text = ChargingAltTextOutput(many=True)
    elements = ChargingTariffElementOutput(many=True)
    max_price = ChargingMaxPriceOutput(allow_null=True)
    last_updated = serializers.CharField()


class ChargingTariffListOutput(serializers.Serializer):
    data = ChargingTariffOutput(many=True)  # type: ignore[assignment]
    status_code = serializers.IntegerField()
    timestamp = serializers.CharField()


def _envelope(data: object) -> dict[str, object]:
    # The OCPI response envelope: status 1000 is success.
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    return {"data": data, "status_code": 1000, "timestamp": now}


class LocationListView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="charging_locations_list",
        responses=ChargingLocationListOutput,
        tags=["charging"],
    )
    def get(self, request: Request) -> Response:
        """All public charging locations with live EVSE status (OCPI Locations, AFIR)."""
        sites = selectors.public_sites(municipality=request_municipality(request))
        locations = [selectors.ocpi_location(site) for site in sites]
        return Response(ChargingLocationListOutput(_envelope(locations)).data)


class LocationDetailView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="charging_locations_retrieve",
        responses=ChargingLocationEnvelopeOutput,
        tags=["charging"],
    )
    def get(self, request: Request, location_id: int) -> Response:
        """One public charging location."""
        municipality = request_municipality(request)
        site = access.site_for_public(municipality=municipality, site_id=location_id)
        site = selectors.public_sites(municipality=municipality).get(pk=site.pk)
        return Response(
            ChargingLocationEnvelopeOutput(_envelope(selectors.ocpi_location(site))).data
        )


class TariffListView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="charging_tariffs_list", responses=ChargingTariffListOutput, tags=["charging"]
    )
    def get(self, request: Request) -> Response:
        """Prices of the public charging points (OCPI Tariffs)."""
        tariffs = (
            Tariff.objects.filter(municipality=request_municipality(request))
            .select_related("municipality")
            .order_by("pk")
        )
        return Response(
            ChargingTariffListOutput(_envelope([selectors.ocpi_tariff(t) for t in tariffs])).data
        )


api_urlpatterns = [
    path("charging/locations/", LocationListView.as_view(), name="api-charging-locations"),
    path(
        "charging/locations/<int:location_id>/",
        LocationDetailView.as_view(),
        name="api-charging-location",
    ),
    path("charging/tariffs/", TariffListView.as_view(), name="api-charging-tariffs"),
]
