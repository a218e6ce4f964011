"""The handler the shipped question-to-the-mayor process calls
(workflow/models_bpmn/mayor_question.bpmn): publish the approved answer.

The question is the instance's business object; anything else is a permanent failure
(an incident for an administrator), never a silent success.
"""

from __future__ import annotations

from typing import Any

from rathaus.core.errors import ApplicationError
from rathaus.fragdenob import services
from rathaus.fragdenob.models import Question
from rathaus.workflow.handlers import HandlerContext, PermanentHandlerError, workflow_handler


@workflow_handler("fragdenob.publish_answer", retries=5, backoff_seconds=60)
def publish_answer(context: HandlerContext, *, answer: str = "") -> dict[str, Any]:
    """Publish the answer the mayor approved; followers are told."""
    question = context.business_object
    if not isinstance(question, Question) or question.municipality_id != context.municipality.pk:
        raise PermanentHandlerError("the business object is not a question of this tenant")
    # A model may carry a "standard_reply" field (a form letter): it then does not count
    # as an answer in the public figures.
    standard = context.variables.get("standard_reply") is True
    try:
        question = services.answer_publish(question=question, answer=answer, standard=standard)
    except ApplicationError as error:
        raise PermanentHandlerError(str(error.message)) from error
    assert question.answered_at is not None
    return {"question_id": question.pk, "answered_at": question.answered_at.isoformat()}
