"""API of the legal pages: read them, report a barrier."""

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from rathaus.api.fields import StrictCharField
from rathaus.core.http import client_address
from rathaus.core.tenancy import request_municipality
from rathaus.legal import access, selectors, services
from rathaus.legal.models import LegalPage


class LegalPageOutput(serializers.ModelSerializer):
    class Meta:
        model = LegalPage
        fields = [
            "kind",
            "title_de",
            "title_en",
            "body_de",
            "body_en",
            "conformance",
            "prepared_on",
            "feedback_email",
            "arbitration_name",
            "arbitration_url",
            "updated_at",
        ]


class LegalPageListView(ListAPIView):
    permission_classes = [AllowAny]
    serializer_class = LegalPageOutput

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.legal_page_list(municipality=request_municipality(self.request))

    @extend_schema(operation_id="legal_pages_list", tags=["legal"])
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        """Imprint, privacy notice and accessibility statement of this municipality."""
        return super().get(request, *args, **kwargs)


class LegalPageDetailView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(operation_id="legal_pages_retrieve", responses=LegalPageOutput, tags=["legal"])
    def get(self, request: Request, kind: str) -> Response:
        """One legal page by kind: ``imprint``, ``privacy`` or ``accessibility``."""
        page = access.legal_page_for_public(municipality=request_municipality(request), kind=kind)
        return Response(LegalPageOutput(page).data)


class FeedbackInput(serializers.Serializer):
    message = StrictCharField(max_length=5000)
    page_url = StrictCharField(max_length=500, required=False, allow_blank=True, default="")
    email = serializers.EmailField(required=False, allow_blank=True, default="")


class FeedbackOutput(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()


class FeedbackCreateView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="accessibility_feedback_create",
        request=FeedbackInput,
        responses={201: FeedbackOutput},
        tags=["legal"],
    )
    def post(self, request: Request) -> Response:
        """Report a barrier on this municipality's website (BITV 2.0 feedback mechanism)."""
        data = FeedbackInput(data=request.data)
        data.is_valid(raise_exception=True)
        feedback = services.feedback_submit(
            municipality=request_municipality(request),
            message=data.validated_data["message"],
            email=data.validated_data["email"],
            page_url=data.validated_data["page_url"],
            client_key=client_address(request),
        )
        return Response(FeedbackOutput(feedback).data, status=status.HTTP_201_CREATED)


api_urlpatterns = [
    path("legal-pages/", LegalPageListView.as_view(), name="api-legal-pages"),
    path("legal-pages/<str:kind>/", LegalPageDetailView.as_view(), name="api-legal-page"),
    path(
        "accessibility-feedback/", FeedbackCreateView.as_view(), name="api-accessibility-feedback"
    ),
]
