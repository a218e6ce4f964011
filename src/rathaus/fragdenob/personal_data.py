"""What Frag den OB holds about a citizen, for export and for closing the account.

Unpublished questions, supports and follows go with the account. Published questions
and their answers are part of the public record of the dialogue: they stay, without
their author.
"""

from typing import Any

from django.utils.translation import gettext_lazy as _

from rathaus.fragdenob.models import Follow, Question, Support
from rathaus.privacy import personal_data
from rathaus.privacy.personal_data import Erasure, Kept


@personal_data.register
class QuestionsData:
    key = "fragdenob.questions"
    title = _("Questions to the mayor")

    def export(self, user: Any) -> list[dict[str, Any]]:
        questions = [
            {
                "question": question.title,
                "background": question.background,
                "topic": question.topic.name_de,
                "status": question.status,
                "submitted_at": question.submitted_at,
                "published_at": question.published_at,
                "answer": question.answer,
                "answered_at": question.answered_at,
            }
            for question in Question.objects.filter(author=user)
            .select_related("topic")
            .order_by("submitted_at", "pk")
        ]
        supports = [
            {"supported": support.question_id, "at": support.created_at}
            for support in Support.objects.filter(user=user).order_by("created_at")
        ]
        follows = [
            {"followed": follow.question_id, "at": follow.created_at}
            for follow in Follow.objects.filter(user=user).order_by("created_at")
        ]
        return [*questions, *supports, *follows]

    def erase(self, user: Any) -> Erasure:
        kept = self.retained(user)
        deleted, _counts = (
            Question.objects.filter(author=user).exclude(status__in=Question.PUBLIC).delete()
        )
        supports, _counts = Support.objects.filter(user=user).delete()
        follows, _counts = Follow.objects.filter(user=user).delete()
        anonymised = Question.objects.filter(author=user).update(author=None)
        return Erasure(
            deleted=deleted + supports + follows,
            anonymised=anonymised,
            kept=kept,
        )

    def retained(self, user: Any) -> list[Kept]:
        if not Question.objects.filter(author=user, status__in=Question.PUBLIC).exists():
            return []
        return [
            Kept(
                what=_("Your published questions and their answers, without your name"),
                why=_(
                    "They are part of the public record of the mayor's dialogue with the citizens."
                ),
            )
        ]
