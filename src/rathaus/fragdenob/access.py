"""The one place that scopes Frag den OB's objects to who is asking.

Published questions are public (404 for anything else of the public, and for another
municipality's). An author reaches their own questions in every state; moderators
(``fragdenob.moderate_questions``) any question of their municipality; the mayor's
office (``fragdenob.manage_dialogue``) the freezes and answered questions.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404

from rathaus.core.access import is_member, is_staff_of, one_or_404
from rathaus.core.models import Municipality
from rathaus.fragdenob import selectors
from rathaus.fragdenob.models import MANAGE, MODERATE, ElectionFreeze, Question
from rathaus.organisation.permissions import user_can_anywhere


def question_for_public(*, municipality: Municipality, question_id: int) -> Question:
    """A published or answered question of the municipality, or 404."""
    question = selectors.question_public(municipality=municipality, question_id=question_id)
    if question is None:
        raise Http404
    return question


def question_for_author(*, user: Any, municipality: Municipality, question_id: int) -> Question:
    """The user's own question in any state, or 404 (another's draft looks like nothing)."""
    if not is_member(user, municipality):
        raise Http404
    return one_or_404(
        Question.objects.select_related("topic", "district", "parent", "municipality").filter(
            municipality=municipality, author_id=user.pk, pk=question_id
        )
    )


def _staff(user: Any, municipality: Municipality, permission: str) -> None:
    if not is_staff_of(user, municipality):
        raise Http404
    if not user_can_anywhere(user=user, permission=permission):
        raise PermissionDenied


def question_for_moderator(*, user: Any, municipality: Municipality, question_id: int) -> Question:
    """Any question of the municipality, for a moderator (404 / 403)."""
    _staff(user, municipality, MODERATE)
    return one_or_404(
        Question.objects.select_related(
            "topic", "district", "parent", "author", "municipality", "merged_into"
        ).filter(municipality=municipality, pk=question_id)
    )


def question_for_office(*, user: Any, municipality: Municipality, question_id: int) -> Question:
    """Any question of the municipality, for the mayor's office (404 / 403)."""
    _staff(user, municipality, MANAGE)
    return one_or_404(
        Question.objects.select_related("topic", "municipality").filter(
            municipality=municipality, pk=question_id
        )
    )


def freeze_for_office(*, user: Any, municipality: Municipality, freeze_id: int) -> ElectionFreeze:
    _staff(user, municipality, MANAGE)
    return one_or_404(
        ElectionFreeze.objects.select_related("municipality").filter(
            municipality=municipality, pk=freeze_id
        )
    )
