"""API of the service catalogue: read services and locations, search services.

Everything here is public information (the catalogue is published on the portal), so the
endpoints allow anonymous reads; they are scoped to the host's municipality like the pages.
"""

from typing import Any

from django.db.models import Case, IntegerField, QuerySet, When
from django.urls import path, reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from rathaus.api.fields import StrictCharField
from rathaus.catalog import access, selectors
from rathaus.catalog.models import Location, Service
from rathaus.catalog.search import MAX_QUERY_LENGTH
from rathaus.core.tenancy import request_municipality

SEARCH_LIMIT = 500


class AttributionOutput(serializers.Serializer):
    text = serializers.CharField(source="attribution")
    licence = serializers.CharField()
    licence_url = serializers.CharField()


class FeeOutput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["fixed", "range", "per_unit", "free"])
    amount_cents = serializers.IntegerField(allow_null=True)
    amount_max_cents = serializers.IntegerField(allow_null=True)
    currency = serializers.CharField()
    unit_de = serializers.CharField()
    unit_en = serializers.CharField()
    label_de = serializers.CharField()
    label_en = serializers.CharField()
    note_de = serializers.CharField()
    note_en = serializers.CharField()


class DocumentOutput(serializers.Serializer):
    name_de = serializers.CharField()
    name_en = serializers.CharField()
    note_de = serializers.CharField()
    note_en = serializers.CharField()


class LinkOutput(serializers.Serializer):
    title = serializers.CharField()
    url = serializers.CharField()


class OfferOutput(serializers.Serializer):
    location_id = serializers.IntegerField(source="location.pk")
    name_de = serializers.CharField(source="location.name_de")
    name_en = serializers.CharField(source="location.name_en")
    address = serializers.CharField(source="location.address_line")
    appointment_minutes = serializers.IntegerField(allow_null=True)


class ServiceListOutput(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.CharField()
    name_de = serializers.CharField()
    name_en = serializers.CharField()
    summary_de = serializers.CharField()
    summary_en = serializers.CharField()
    leika = serializers.SerializerMethodField()
    online_mode = serializers.ChoiceField(choices=Service.OnlineMode.choices)
    categories = serializers.SerializerMethodField()
    life_situations = serializers.SerializerMethodField()
    page_url = serializers.SerializerMethodField()
    attribution = AttributionOutput(source="*")

    def get_leika(self, service: Service) -> list[str]:
        return [key.key for key in service.leika_keys.all()]

    def get_categories(self, service: Service) -> list[str]:
        return [group.slug for group in service.categories.all()]

    def get_life_situations(self, service: Service) -> list[str]:
        return [group.slug for group in service.life_situations.all()]

    def get_page_url(self, service: Service) -> str:
        """The path of the service's public page."""
        return reverse("catalog:service", args=[service.slug])


class ServiceDetailOutput(ServiceListOutput):
    # DRF collects declared fields by name; "source" only shadows Field.source for mypy.
    source = serializers.CharField()  # type: ignore[assignment]
    source_id = serializers.CharField()
    source_url = serializers.CharField()
    synonyms = serializers.ListField(child=serializers.CharField())
    keywords = serializers.ListField(child=serializers.CharField())
    description_de = serializers.CharField(help_text="Sanitised HTML.")
    description_en = serializers.CharField(help_text="Sanitised HTML.")
    documents = DocumentOutput(many=True)
    fees = FeeOutput(many=True)
    fees_text_de = serializers.CharField(help_text="Sanitised HTML.")
    fees_text_en = serializers.CharField(help_text="Sanitised HTML.")
    processing_time_de = serializers.CharField()
    processing_time_en = serializers.CharField()
    legal_basis_de = serializers.CharField()
    legal_basis_en = serializers.CharField()
    responsible = serializers.SerializerMethodField()
    online_url = serializers.CharField()
    appointment = serializers.BooleanField()
    appointment_minutes = serializers.IntegerField(allow_null=True)
    bookable_online = serializers.BooleanField()
    max_quantity = serializers.IntegerField()
    links = LinkOutput(many=True)
    forms = LinkOutput(many=True)
    locations = OfferOutput(source="offered_at", many=True)

    def get_responsible(self, service: Service) -> str:
        """The responsible org unit, or the authority the source names."""
        return service.responsible_unit.name if service.responsible_unit else service.authority


class OpeningHoursOutput(serializers.Serializer):
    weekday = serializers.IntegerField(min_value=0, max_value=6, help_text="Monday is 0.")
    opens = serializers.CharField()
    closes = serializers.CharField()


class LocationOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name_de = serializers.CharField()
    name_en = serializers.CharField()
    organisation = serializers.CharField()
    street = serializers.CharField()
    house_number = serializers.CharField()
    postal_code = serializers.CharField()
    city = serializers.CharField()
    latitude = serializers.DecimalField(max_digits=9, decimal_places=6, allow_null=True)
    longitude = serializers.DecimalField(max_digits=9, decimal_places=6, allow_null=True)
    opening_hours = OpeningHoursOutput(many=True)
    opening_hours_note_de = serializers.CharField()
    opening_hours_note_en = serializers.CharField()
    wheelchair_accessible = serializers.BooleanField(allow_null=True)
    accessibility_de = serializers.CharField()
    accessibility_en = serializers.CharField()
    phone = serializers.CharField()
    fax = serializers.CharField()
    email = serializers.CharField()
    url = serializers.CharField()
    page_url = serializers.SerializerMethodField()
    attribution = AttributionOutput(source="*")

    def get_page_url(self, location: Location) -> str:
        """The path of the location's public page."""
        return reverse("catalog:location", args=[location.pk])


@extend_schema_field(
    {"type": "string", "minLength": 1, "maxLength": MAX_QUERY_LENGTH, "pattern": "^[^\\u0000]*$"}
)
class QueryTextField(StrictCharField):
    """Free text in a query parameter; the schema says what DRF refuses (NUL characters)."""


class ServiceListQuery(serializers.Serializer):
    q = QueryTextField(
        max_length=MAX_QUERY_LENGTH,
        required=False,
        help_text="Words to search for.",
    )
    category = serializers.SlugField(max_length=80, required=False)
    life_situation = serializers.SlugField(max_length=80, required=False)
    leika = serializers.RegexField(r"^99\d{12}$", required=False, help_text="A LeiKa key.")
    online_mode = serializers.ChoiceField(choices=Service.OnlineMode.choices, required=False)


def _query(request: Request, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
    """The validated query parameters; a parameter given twice is an error, not a guess."""
    data: dict[str, str] = {}
    for name, _field in serializer_class().fields.items():
        values = request.query_params.getlist(name)
        if len(values) > 1:
            raise ValidationError({name: [_("Give this parameter once.")]})
        if values:
            data[name] = values[0]
    query = serializer_class(data=data)
    query.is_valid(raise_exception=True)
    return dict(query.validated_data)


class ServiceListView(ListAPIView):
    permission_classes = [AllowAny]
    serializer_class = ServiceListOutput

    def get_queryset(self) -> QuerySet[Service]:
        municipality = request_municipality(self.request)
        query = _query(self.request, ServiceListQuery)
        services = selectors.services_for_api(municipality=municipality)
        if "category" in query:
            services = services.filter(categories__slug=query["category"])
        if "life_situation" in query:
            services = services.filter(life_situations__slug=query["life_situation"])
        if "leika" in query:
            services = services.filter(leika_keys__key=query["leika"]).distinct()
        if "online_mode" in query:
            services = services.filter(online_mode=query["online_mode"])
        if "q" in query:
            hits = selectors.service_search(
                municipality=municipality, query=query["q"], language="de", limit=SEARCH_LIMIT
            )
            ranked = [hit.id for hit in hits]
            services = services.filter(pk__in=ranked).order_by(
                Case(
                    *(When(pk=pk, then=position) for position, pk in enumerate(ranked)),
                    output_field=IntegerField(),
                )
                if ranked
                else "pk"
            )
        return services

    @extend_schema(operation_id="services_list", parameters=[ServiceListQuery], tags=["catalog"])
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        """Public services of this municipality; with ``q``, the best matches first."""
        return super().get(request, *args, **kwargs)


class ServiceDetailView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="services_retrieve", responses=ServiceDetailOutput, tags=["catalog"]
    )
    def get(self, request: Request, service_id: int) -> Response:
        """One public service with everything a citizen needs to know."""
        service = access.service_for_api(
            municipality=request_municipality(request), service_id=service_id
        )
        return Response(ServiceDetailOutput(service).data)


class LocationListView(ListAPIView):
    permission_classes = [AllowAny]
    serializer_class = LocationOutput

    def get_queryset(self) -> QuerySet[Location]:
        return selectors.location_list_public(municipality=request_municipality(self.request))

    @extend_schema(operation_id="locations_list", tags=["catalog"])
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        """Public offices of this municipality, where services are offered."""
        return super().get(request, *args, **kwargs)


class LocationDetailView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(operation_id="locations_retrieve", responses=LocationOutput, tags=["catalog"])
    def get(self, request: Request, location_id: int) -> Response:
        """One public office."""
        location = access.location_for_public(
            municipality=request_municipality(request), location_id=location_id
        )
        return Response(LocationOutput(location).data)


api_urlpatterns = [
    path("services/", ServiceListView.as_view(), name="api-services"),
    path("services/<int:service_id>/", ServiceDetailView.as_view(), name="api-service"),
    path("locations/", LocationListView.as_view(), name="api-locations"),
    path("locations/<int:location_id>/", LocationDetailView.as_view(), name="api-location"),
]
