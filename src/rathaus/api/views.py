"""Platform endpoints of the API (the current municipality)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from rathaus.core.tenancy import request_municipality


class MunicipalityOutput(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    ags = serializers.CharField(
        help_text="Official municipality key (Amtlicher Gemeindeschlüssel), 8 digits"
    )
    state = serializers.CharField(help_text="Federal state, ISO 3166-2:DE subdivision code")
    email = serializers.EmailField(allow_blank=True)
    phone = serializers.CharField(allow_blank=True)
    address = serializers.CharField(allow_blank=True)


class MunicipalityView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="municipality_current", responses=MunicipalityOutput, tags=["municipality"]
    )
    def get(self, request: Request) -> Response:
        """The municipality served at this address."""
        return Response(MunicipalityOutput(request_municipality(request)).data)
