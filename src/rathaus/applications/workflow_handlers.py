"""The handlers the shipped generic application process calls (workflow/models_bpmn/
generic_application.bpmn). Their names say that they talk to the citizen through the
Postfach; the model was written before this module, so they keep the names it uses.

Each gets the ``Application`` as the instance's business object; any other object is a
permanent failure (an incident for an administrator), never a silent success.
"""

from __future__ import annotations

from typing import Any

from rathaus.applications import services
from rathaus.applications.models import Application
from rathaus.workflow.handlers import HandlerContext, PermanentHandlerError, workflow_handler


def _application(context: HandlerContext) -> Application:
    target = context.business_object
    if not isinstance(target, Application) or target.municipality_id != context.municipality.pk:
        raise PermanentHandlerError("the business object is not an application of this tenant")
    return target


@workflow_handler("postfach.request_documents", retries=5, backoff_seconds=60)
def request_documents(context: HandlerContext, *, missing_documents: str = "") -> dict[str, Any]:
    """Ask the citizen for missing documents (Postfach message, status, e-mail)."""
    application = _application(context)
    message = services.application_documents_request(
        application=application, note=missing_documents
    )
    return {"message_id": message.pk}


@workflow_handler("postfach.send_reminder", retries=5, backoff_seconds=60)
def send_reminder(context: HandlerContext, *, reminder_number: int = 1) -> dict[str, Any]:
    """Remind the citizen of the documents still missing."""
    application = _application(context)
    message = services.application_reminder_send(
        application=application, number=int(reminder_number)
    )
    return {"message_id": message.pk, "number": int(reminder_number)}


@workflow_handler("postfach.deliver_notice", retries=5, backoff_seconds=60)
def deliver_notice(
    context: HandlerContext, *, decision: str = "", reason: str = ""
) -> dict[str, Any]:
    """Make the notice (Bescheid) and deliver it to the Postfach, or mark it for the post."""
    application = _application(context)
    if decision not in Application.Decision.values:
        raise PermanentHandlerError(f"unknown decision {decision!r}")
    application = services.application_notice_issue(
        application=application, decision=decision, reason=reason
    )
    return {
        "channel": "post" if application.notice_by_post_required else "postfach",
        "message_id": application.notice_message_id,
    }
