"""The signed-in person's in-app messages and notification preferences."""

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from rathaus.core.http import client_address
from rathaus.notifications import access, selectors, services
from rathaus.notifications.channels import sms_available
from rathaus.notifications.context_processors import request_unread_count
from rathaus.notifications.forms import PreferenceForm

PAGE_SIZE = 20
PAGE_PARAMETER = "seite"
PAGE_NUMBER = re.compile(r"^[0-9]{1,6}$")


def _list_url(page: str | None) -> str:
    url = reverse("notifications:messages")
    # Only a plain page number goes back into the address.
    if page and PAGE_NUMBER.match(page):
        url += f"?{PAGE_PARAMETER}={page}"
    return url


@login_required
@require_http_methods(["GET", "HEAD"])
def message_list(request: HttpRequest) -> HttpResponse:
    paginator = Paginator(selectors.inapp_notification_list(user=request.user), PAGE_SIZE)  # type: ignore[arg-type]
    page = paginator.get_page(request.GET.get(PAGE_PARAMETER))
    return render(
        request,
        "notifications/message_list.html",
        {"page_obj": page, "unread_count": request_unread_count(request)},
    )


@login_required
@require_http_methods(["POST"])
def message_mark_read(request: HttpRequest, notification_id: int) -> HttpResponse:
    user = request.user
    notification = access.inapp_notification_for_recipient(
        user=user,  # type: ignore[arg-type]
        notification_id=notification_id,
    )
    notification = services.notification_mark_read(notification=notification, user=user)  # type: ignore[arg-type]
    if request.htmx:  # type: ignore[attr-defined]
        return render(
            request,
            "notifications/_message.html",
            {"notification": notification, "page_number": request.POST.get(PAGE_PARAMETER)},
        )
    return redirect(_list_url(request.POST.get(PAGE_PARAMETER)))


@login_required
@require_http_methods(["POST"])
def messages_mark_all_read(request: HttpRequest) -> HttpResponse:
    count = services.notifications_mark_all_read(user=request.user)  # type: ignore[arg-type]
    if count:
        messages.success(request, _("All messages are marked as read."))
    return redirect("notifications:messages")


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    user = request.user
    preference = selectors.notification_preference_get(user=user)  # type: ignore[arg-type]
    form = PreferenceForm(
        request.POST or None,
        initial={
            "email_enabled": preference.email_enabled,
            "sms_enabled": preference.sms_enabled,
            "digest_frequency": preference.digest_frequency,
        },
        has_phone=bool(getattr(user, "phone", "")),
        sms_available=sms_available(),
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            services.notification_preference_update(
                user=user,  # type: ignore[arg-type]
                email_enabled=form.cleaned_data["email_enabled"],
                sms_enabled=form.cleaned_data.get("sms_enabled", preference.sms_enabled),
                digest_frequency=form.cleaned_data["digest_frequency"],
                ip=client_address(request),
            )
            messages.success(request, _("Your notification settings are saved."))
            return redirect("notifications:preferences")
        status = 400
    return render(request, "notifications/preferences.html", {"form": form}, status=status)
