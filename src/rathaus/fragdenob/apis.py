"""Read-only public API of Frag den OB (under /api/v1/): published questions with their
answers, the codex figures and the statistics. Everything here is on the public pages
too, so reads are anonymous and scoped to the host's municipality. Texts are plain text.
"""

from typing import Any

from django.db.models import QuerySet
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from rathaus.api.fields import StrictCharField
from rathaus.core.tenancy import request_municipality
from rathaus.fragdenob import selectors
from rathaus.fragdenob.models import Question


class MayorQuestionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField(help_text="Plain text.")
    background = serializers.CharField(help_text="Plain text.")
    topic = serializers.SlugField(source="topic.slug")
    topic_name = serializers.CharField(source="topic.name_de")
    district = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=[s.value for s in Question.PUBLIC])
    parent_id = serializers.IntegerField(allow_null=True)
    published_at = serializers.DateTimeField()
    support_until = serializers.DateTimeField(allow_null=True)
    supporters = serializers.IntegerField()
    answer = serializers.CharField(help_text="Plain text; empty until answered.")
    answered_at = serializers.DateTimeField(allow_null=True)
    answer_is_standard = serializers.BooleanField(
        help_text="A standard reply; it does not count as an answer in the statistics."
    )
    page_url = serializers.SerializerMethodField()

    def get_district(self, question: Question) -> str | None:
        return question.district.slug if question.district else None

    def get_page_url(self, question: Question) -> str:
        """The path of the question's permanent page."""
        return reverse("fragdenob:detail", args=[question.pk])


class MayorQuestionListQuery(serializers.Serializer):
    q = StrictCharField(max_length=200, required=False, help_text="Words to search for.")
    topic = serializers.SlugField(max_length=60, required=False)
    district = serializers.SlugField(max_length=60, required=False)
    status = serializers.ChoiceField(choices=[s.value for s in Question.PUBLIC], required=False)
    order = serializers.ChoiceField(choices=["new", "top"], required=False)


def _query(request: Request) -> dict[str, Any]:
    data: dict[str, str] = {}
    for name, _field in MayorQuestionListQuery().fields.items():
        values = request.query_params.getlist(name)
        if len(values) > 1:
            raise ValidationError({name: [_("Give this parameter once.")]})
        if values:
            data[name] = values[0]
    query = MayorQuestionListQuery(data=data)
    query.is_valid(raise_exception=True)
    return dict(query.validated_data)


class QuestionListView(ListAPIView):
    permission_classes = [AllowAny]
    serializer_class = MayorQuestionOutput

    def get_queryset(self) -> QuerySet[Question]:
        query = _query(self.request)
        return selectors.questions_public(
            municipality=request_municipality(self.request),
            query=query.get("q", ""),
            topic=query.get("topic", ""),
            district=query.get("district", ""),
            status=query.get("status", ""),
            order=query.get("order", "new"),
        )

    @extend_schema(
        operation_id="fragdenob_questions_list",
        parameters=[MayorQuestionListQuery],
        tags=["fragdenob"],
    )
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        """Published and answered questions to the mayor, newest (or most supported) first."""
        return super().get(request, *args, **kwargs)


class QuestionDetailView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="fragdenob_questions_retrieve",
        responses=MayorQuestionOutput,
        tags=["fragdenob"],
    )
    def get(self, request: Request, question_id: int) -> Response:
        """One published question with its answer."""
        question = selectors.question_public(
            municipality=request_municipality(request), question_id=question_id
        )
        if question is None:
            raise NotFound()
        return Response(MayorQuestionOutput(question).data)


class MayorTopicCountOutput(serializers.Serializer):
    topic = serializers.SlugField()
    published = serializers.IntegerField()
    due = serializers.IntegerField()
    answered = serializers.IntegerField()
    answer_rate = serializers.FloatField(allow_null=True)


class MayorMonthCountOutput(serializers.Serializer):
    month = serializers.DateField(help_text="First day of the month.")
    published = serializers.IntegerField()
    answered = serializers.IntegerField()


class MayorAgeCountOutput(serializers.Serializer):
    days = serializers.CharField(help_text="Age group in days since publication.")
    open = serializers.IntegerField()


class MayorRuleCountOutput(serializers.Serializer):
    rule = serializers.SlugField()
    title_de = serializers.CharField()
    title_en = serializers.CharField()
    rejections = serializers.IntegerField()


class MayorStatisticsOutput(serializers.Serializer):
    published = serializers.IntegerField()
    due = serializers.IntegerField()
    answered = serializers.IntegerField()
    standard_replies = serializers.IntegerField()
    answer_rate = serializers.FloatField(
        allow_null=True, help_text="Answered ÷ published and due, 0 to 1; null if none is due."
    )
    median_days_to_answer = serializers.FloatField(allow_null=True)
    p90_days_to_answer = serializers.FloatField(allow_null=True)
    open_by_age = MayorAgeCountOutput(many=True)
    by_topic = MayorTopicCountOutput(many=True)
    by_month = MayorMonthCountOutput(many=True)
    rejected = serializers.IntegerField()
    merged = serializers.IntegerField()
    rejections_by_rule = MayorRuleCountOutput(many=True)


class StatisticsView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="fragdenob_statistics_retrieve",
        responses=MayorStatisticsOutput,
        tags=["fragdenob"],
    )
    def get(self, request: Request) -> Response:
        """The public figures: answer rate, time to answer, open questions, moderation."""
        municipality = request_municipality(request)
        figures = selectors.statistics(municipality=municipality)
        codex = selectors.codex_figures(municipality=municipality)
        data = {
            "published": figures.published,
            "due": figures.due,
            "answered": figures.answered,
            "standard_replies": figures.standard_replies,
            "answer_rate": figures.answer_rate,
            "median_days_to_answer": figures.median_days,
            "p90_days_to_answer": figures.p90_days,
            "open_by_age": [{"days": label, "open": n} for label, n in figures.open_by_age],
            "by_topic": [
                {
                    "topic": row.topic.slug,
                    "published": row.published,
                    "due": row.due,
                    "answered": row.answered,
                    "answer_rate": row.rate,
                }
                for row in figures.by_topic
            ],
            "by_month": [
                {"month": row.month, "published": row.published, "answered": row.answered}
                for row in figures.by_month
            ],
            "rejected": codex.rejected,
            "merged": codex.merged,
            "rejections_by_rule": [
                {
                    "rule": rule.key,
                    "title_de": rule.title_de,
                    "title_en": rule.title_en,
                    "rejections": count,
                }
                for rule, count in codex.by_rule
            ],
        }
        return Response(MayorStatisticsOutput(data).data)


api_urlpatterns: list[URLPattern] = [
    path("fragdenob/questions/", QuestionListView.as_view(), name="fragdenob-questions"),
    path(
        "fragdenob/questions/<int:question_id>/",
        QuestionDetailView.as_view(),
        name="fragdenob-question",
    ),
    path("fragdenob/statistics/", StatisticsView.as_view(), name="fragdenob-statistics"),
]
