"""Mailbox pages: the citizen's inbox and messages (/konto/postfach/), and the staff pages
(/verwaltung/postfach/) to write to citizens, follow deliveries and deliver otherwise."""

import re
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from rathaus.accounts.models import User
from rathaus.accounts.trust import TrustLevel, session_trust_level
from rathaus.core.errors import ApplicationError
from rathaus.core.forms import form_show_error
from rathaus.core.http import client_address
from rathaus.core.tenancy import request_municipality
from rathaus.oidc.links import step_up_url
from rathaus.oidc.trust import TrustLevelTooLow, trust_require
from rathaus.organisation.decorators import staff_member_required
from rathaus.organisation.permissions import units_where
from rathaus.postfach import access, selectors, services
from rathaus.postfach.forms import ComposeForm, FollowUpForm, ReplyForm
from rathaus.postfach.models import SEND_PERMISSION, Attachment, Message

PAGE_SIZE = 20
PAGE_PARAMETER = "seite"
REPLY_TO_PARAMETER = "antwort_auf"
ID = re.compile(r"^[0-9]{1,18}$")
# A downloaded file is never rendered as a page of ours, whatever is inside it.
DOWNLOAD_CSP = "default-src 'none'; sandbox"


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _download(attachment: Attachment) -> FileResponse:
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )
    response["Content-Security-Policy"] = DOWNLOAD_CSP
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _step_up(message: Message, next_url: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(
        step_up_url(level=TrustLevel(message.min_trust_level), next_url=next_url)
    )


# --- Citizen pages ---------------------------------------------------------------------


@login_required
@never_cache
@require_http_methods(["GET", "HEAD"])
def inbox(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    paginator = Paginator(selectors.inbox_list(user=user), PAGE_SIZE)
    page = paginator.get_page(request.GET.get(PAGE_PARAMETER))
    return render(
        request,
        "postfach/inbox.html",
        {
            "page_obj": page,
            "trust": int(session_trust_level(request)),
            "consent": selectors.postfach_consent_active(user=user),
        },
    )


def _message_page(
    request: HttpRequest, message: Message, form: ReplyForm, status: int = 200
) -> HttpResponse:
    conversation = selectors.conversation_list(message=message)
    current = next(item for item in conversation if item.pk == message.pk)
    return render(
        request,
        "postfach/message.html",
        {
            "message": current,
            "delivery": getattr(current, "delivery", None),
            "conversation": [item for item in conversation if item.pk != message.pk],
            "form": form,
            "consent": selectors.postfach_consent_active(user=_user(request)),
        },
        status=status,
    )


@login_required
@never_cache
@require_http_methods(["GET"])
def message_detail(request: HttpRequest, message_id: int) -> HttpResponse:
    """Opening the page is the retrieval of the message (recorded the first time)."""
    user = _user(request)
    message = access.message_for_citizen(
        user=user, municipality=request_municipality(request), message_id=message_id
    )
    try:
        services.message_open(
            message=message,
            user=user,
            trust_level=session_trust_level(request),
            ip=client_address(request),
        )
    except TrustLevelTooLow:
        return _step_up(message, request.get_full_path())
    return _message_page(request, message, ReplyForm())


@login_required
@never_cache
@require_http_methods(["POST"])
def message_reply(request: HttpRequest, message_id: int) -> HttpResponse:
    user = _user(request)
    message = access.message_for_citizen(
        user=user, municipality=request_municipality(request), message_id=message_id
    )
    trust = session_trust_level(request)
    page_url = reverse("postfach:message", args=[message.pk])
    try:
        # Answering needs the content; a reply sent without opening the page first still
        # counts as its retrieval.
        services.message_open(
            message=message, user=user, trust_level=trust, ip=client_address(request)
        )
    except TrustLevelTooLow:
        return _step_up(message, page_url)
    form = ReplyForm(request.POST, request.FILES)
    status = 400
    if form.is_valid():
        try:
            services.message_reply(
                message=message,
                user=user,
                body=form.cleaned_data["body"],
                attachments=form.cleaned_data["attachments"],
                trust_level=trust,
                ip=client_address(request),
            )
        except ApplicationError as error:
            form_show_error(form, error)
            status = error.status
        else:
            messages.success(request, _("Your answer was sent."))
            return redirect(page_url)
    return _message_page(request, message, form, status=status)


@login_required
@require_http_methods(["GET"])
def attachment_download(
    request: HttpRequest, message_id: int, attachment_id: int
) -> HttpResponse | FileResponse:
    user = _user(request)
    attachment = access.attachment_for_citizen(
        user=user,
        municipality=request_municipality(request),
        message_id=message_id,
        attachment_id=attachment_id,
    )
    message = attachment.message
    trust = session_trust_level(request)
    try:
        if message.is_outbound:
            # A file of the message is its content: fetching it is a retrieval too.
            services.message_open(
                message=message, user=user, trust_level=trust, ip=client_address(request)
            )
        else:
            trust_require(request_level=trust, required=TrustLevel(message.min_trust_level))
    except TrustLevelTooLow:
        page = message if message.is_outbound else (message.parent or message)
        return _step_up(page, reverse("postfach:message", args=[page.pk]))
    return _download(attachment)


# --- Staff pages -----------------------------------------------------------------------


def _paged(request: HttpRequest, queryset: Any) -> Any:
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get(PAGE_PARAMETER))


@staff_member_required(SEND_PERMISSION)
@never_cache
@require_http_methods(["GET", "HEAD"])
def staff_list(request: HttpRequest) -> HttpResponse:
    municipality = request_municipality(request)
    queryset = selectors.staff_message_list(user=request.user, municipality=municipality)
    return render(request, "postfach/staff_list.html", {"page_obj": _paged(request, queryset)})


@staff_member_required(SEND_PERMISSION)
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def staff_compose(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    municipality = request_municipality(request)
    units = (
        units_where(user=user, permission=SEND_PERMISSION)
        .filter(municipality=municipality, is_active=True)
        .order_by("name_de")
    )
    raw_parent = request.POST.get(REPLY_TO_PARAMETER) or request.GET.get(REPLY_TO_PARAMETER)
    parent = None
    initial: dict[str, Any] = {}
    if raw_parent:
        if not ID.match(raw_parent):
            raise Http404
        parent = access.message_for_staff(
            user=user, municipality=municipality, message_id=int(raw_parent)
        )
        initial = {
            "recipient_email": parent.citizen.email,
            "org_unit": parent.org_unit_id,
            "kind": Message.Kind.INFORMATION,
            "min_trust_level": parent.min_trust_level,
            "reference": parent.reference,
            "subject": parent.subject
            if parent.subject.startswith("Re: ")
            else "Re: " + parent.subject,
        }
    form = ComposeForm(
        request.POST or None,
        request.FILES or None,
        units=units,
        initial=initial,
        fixed_recipient=parent is not None,
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            recipient = (
                parent.citizen
                if parent is not None
                else selectors.citizen_by_email(
                    municipality=municipality, email=data["recipient_email"]
                )
            )
            if recipient is None:
                form.add_error(
                    "recipient_email", _("There is no citizen account with this address.")
                )
            else:
                try:
                    message = services.message_send(
                        sender=user,
                        sender_unit=data["org_unit"],
                        recipient=recipient,
                        kind=data["kind"],
                        subject=data["subject"],
                        body=data["body"],
                        attachments=data["attachments"],
                        min_trust_level=data["min_trust_level"],
                        reference=data["reference"],
                        parent=parent,
                        site_url=request.build_absolute_uri("/"),
                        ip=client_address(request),
                    )
                except ApplicationError as error:
                    form_show_error(form, error)
                    status = error.status
                else:
                    messages.success(request, _("The message was sent."))
                    return redirect("postfach:staff_message", message.pk)
    return render(
        request,
        "postfach/staff_compose.html",
        {"form": form, "parent": parent, "has_units": units.exists()},
        status=status,
    )


@staff_member_required(SEND_PERMISSION)
@never_cache
@require_http_methods(["GET"])
def staff_message(request: HttpRequest, message_id: int) -> HttpResponse:
    """Reading a citizen's message is recorded as a read of their personal data."""
    user = _user(request)
    message = access.message_for_staff(
        user=user, municipality=request_municipality(request), message_id=message_id
    )
    services.message_staff_read(message=message, user=user, ip=client_address(request))
    conversation = selectors.conversation_list(message=message)
    current = next(item for item in conversation if item.pk == message.pk)
    return render(
        request,
        "postfach/staff_message.html",
        {
            "message": current,
            "delivery": getattr(current, "delivery", None),
            "follow_up": getattr(current, "follow_up", None),
            "conversation": [item for item in conversation if item.pk != message.pk],
        },
    )


@staff_member_required(SEND_PERMISSION)
@require_http_methods(["GET"])
def staff_attachment(request: HttpRequest, message_id: int, attachment_id: int) -> HttpResponse:
    user = _user(request)
    attachment = access.attachment_for_staff(
        user=user,
        municipality=request_municipality(request),
        message_id=message_id,
        attachment_id=attachment_id,
    )
    services.message_staff_read(
        message=attachment.message,
        user=user,
        purpose=f"Anhang {attachment.pk} der Postfach-Nachricht {attachment.message_id} öffnen",
        ip=client_address(request),
    )
    # The page gate is typed for ordinary responses; a streamed file passes through it as is.
    return cast(HttpResponse, _download(attachment))


@staff_member_required(SEND_PERMISSION)
@never_cache
@require_http_methods(["GET", "HEAD"])
def follow_up_list(request: HttpRequest) -> HttpResponse:
    municipality = request_municipality(request)
    queryset = selectors.follow_up_list(user=request.user, municipality=municipality)
    return render(request, "postfach/follow_up_list.html", {"page_obj": _paged(request, queryset)})


@staff_member_required(SEND_PERMISSION)
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def follow_up_detail(request: HttpRequest, follow_up_id: int) -> HttpResponse:
    user = _user(request)
    follow_up = access.follow_up_for_staff(
        user=user, municipality=request_municipality(request), follow_up_id=follow_up_id
    )
    form = FollowUpForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.follow_up_complete(
                    follow_up=follow_up,
                    user=user,
                    note=form.cleaned_data["note"],
                    ip=client_address(request),
                )
            except ApplicationError as error:
                form_show_error(form, error)
                status = error.status
            else:
                messages.success(request, _("The delivery is recorded as done."))
                return redirect("postfach:follow_up_list")
    return render(
        request,
        "postfach/follow_up_detail.html",
        {"follow_up": follow_up, "form": form},
        status=status,
    )
