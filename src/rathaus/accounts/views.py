"""Sign-in, registration, recovery and the citizen's own account pages."""

import time
from typing import Any

import pyotp
import segno
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from rathaus.accounts import selectors, services
from rathaus.accounts.consent import consent_template
from rathaus.accounts.decorators import reauth_mark, recent_auth_required
from rathaus.accounts.forms import (
    DeleteAccountForm,
    EmailForm,
    LoginForm,
    PasswordConfirmForm,
    ProfileForm,
    RegistrationForm,
    SecondFactorForm,
    SetPasswordFields,
    TotpConfirmForm,
)
from rathaus.accounts.models import ConsentRecord, User
from rathaus.accounts.tokens import token_check
from rathaus.accounts.trust import TrustLevel, session_trust_level, session_trust_method
from rathaus.audit.services import audit_record
from rathaus.core.errors import ApplicationError
from rathaus.core.forms import form_show_error
from rathaus.core.http import client_address
from rathaus.core.tenancy import request_municipality
from rathaus.privacy.export import personal_data_collect, personal_data_json

PENDING_2FA = "rathaus_pending_2fa"
PENDING_2FA_SECONDS = 300
UNVERIFIED = "rathaus_unverified_user"
TOTP_SETUP = "rathaus_totp_setup"


def _safe_next(request: HttpRequest, default: str = "") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, {request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default or reverse("accounts:account")


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


@require_http_methods(["GET", "HEAD", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    """Step one: e-mail and password. Step two (when set up): the second factor."""
    if request.user.is_authenticated and request.method != "POST":
        return redirect(_safe_next(request))
    form = LoginForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                user = services.password_check(
                    request=request,
                    email=form.cleaned_data["username"],
                    password=form.cleaned_data["password"],
                )
            except services.LoginLocked as error:
                form.add_error(None, str(error.message))
                response = render(
                    request,
                    "accounts/login.html",
                    {"form": form, "next": _safe_next(request, "")},
                    status=429,
                )
                response["Retry-After"] = str(error.retry_after)
                return response
            except ApplicationError as error:
                form_show_error(form, error)
                status = 400
            else:
                if not user.is_staff and user.email_verified_at is None:
                    request.session[UNVERIFIED] = user.pk
                    return render(
                        request, "accounts/unverified.html", {"email": user.email}, status=403
                    )
                if user.has_second_factor:
                    request.session[PENDING_2FA] = {
                        "user": user.pk,
                        "at": time.time(),
                        "next": _safe_next(request),
                    }
                    return redirect("accounts:second_factor")
                services.session_login(
                    request=request, user=user, level=TrustLevel.BASIC, method="password"
                )
                return redirect(_safe_next(request))
        else:
            status = 400
    return render(
        request,
        "accounts/login.html",
        {"form": form, "next": _safe_next(request, "")},
        status=status,
    )


@require_http_methods(["GET", "HEAD", "POST"])
def second_factor_view(request: HttpRequest) -> HttpResponse:
    pending = request.session.get(PENDING_2FA)
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > PENDING_2FA_SECONDS:
        request.session.pop(PENDING_2FA, None)
        messages.error(request, _("Please sign in again."))
        return redirect("accounts:login")
    user = User.objects.filter(pk=int(pending.get("user") or 0), is_active=True).first()
    if user is None:
        request.session.pop(PENDING_2FA, None)
        return redirect("accounts:login")
    form = SecondFactorForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                used = services.second_factor_check(
                    request=request, user=user, code=form.cleaned_data["code"]
                )
            except ApplicationError as error:
                form_show_error(form, error)
                status = error.status
            else:
                request.session.pop(PENDING_2FA, None)
                services.session_login(
                    request=request, user=user, level=TrustLevel.BASIC, method=f"password+{used}"
                )
                return redirect(pending.get("next") or reverse("accounts:account"))
        else:
            status = 400
    return render(request, "accounts/second_factor.html", {"form": form}, status=status)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        audit_record(
            municipality=getattr(request, "municipality", None),
            action="accounts.logout",
            actor=request.user,
            target=_user(request),
            ip=client_address(request),
        )
    logout(request)
    messages.success(request, _("You have signed out."))
    return redirect("portal:home")


def _verify_url(request: HttpRequest) -> Any:
    return lambda token: request.build_absolute_uri(reverse("accounts:verify_email", args=[token]))


@require_http_methods(["GET", "HEAD", "POST"])
def register_view(request: HttpRequest) -> HttpResponse:
    form = RegistrationForm(request.POST or None, initial={"language": request.LANGUAGE_CODE})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.citizen_register(
                    municipality=request_municipality(request),
                    email=data["email"],
                    password=data["new_password1"],
                    first_name=data["first_name"],
                    last_name=data["last_name"],
                    language=data["language"],
                    verify_url=_verify_url(request),
                    ip=client_address(request),
                )
            except ApplicationError as error:
                form_show_error(form, error)
                status = 400
            else:
                return render(request, "accounts/check_mailbox.html", {"email": data["email"]})
        else:
            status = 400
    return render(
        request,
        "accounts/register.html",
        {"form": form, "terms_template": consent_template("terms")},
        status=status,
    )


@require_http_methods(["GET", "HEAD", "POST"])
def verify_email_view(request: HttpRequest, token: str) -> HttpResponse:
    """GET only shows a button: mail scanners that follow links must not use up the token."""
    if request.method == "POST":
        try:
            services.email_verify(
                municipality=request_municipality(request), token=token, ip=client_address(request)
            )
        except ApplicationError as error:
            return render(
                request, "accounts/token_invalid.html", {"message": error.message}, status=400
            )
        messages.success(request, _("Your e-mail address is confirmed. You can sign in now."))
        return redirect("accounts:login")
    if (
        token_check(token=token, purpose="verify-email", municipality=request_municipality(request))
        is None
    ):
        return render(
            request,
            "accounts/token_invalid.html",
            {
                "message": _(
                    "This link is invalid, expired or was already used. "
                    "Sign in to request a new one."
                )
            },
            status=400,
        )
    return render(request, "accounts/verify_email.html")


@require_POST
def resend_verification_view(request: HttpRequest) -> HttpResponse:
    user = User.objects.filter(pk=request.session.pop(UNVERIFIED, None), is_active=True).first()
    if user is not None:
        services.email_verification_resend(user=user, verify_url=_verify_url(request))
        return render(request, "accounts/check_mailbox.html", {"email": user.email})
    return redirect("accounts:login")


@require_http_methods(["GET", "HEAD", "POST"])
def password_reset_view(request: HttpRequest) -> HttpResponse:
    form = EmailForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            email = form.cleaned_data["email"]
            ip = client_address(request)
            # Every request counts, successful or not: this form is not for guessing.
            if not services.throttle_fail(scope="reset", ip=ip, account=email).locked:
                services.password_reset_request(
                    municipality=request_municipality(request),
                    email=email,
                    ip=ip,
                    reset_url=lambda token: request.build_absolute_uri(
                        reverse("accounts:password_reset_confirm", args=[token])
                    ),
                )
            return render(request, "accounts/check_mailbox.html", {"email": email, "reset": True})
        return render(request, "accounts/password_reset.html", {"form": form}, status=400)
    return render(request, "accounts/password_reset.html", {"form": form})


@require_http_methods(["GET", "HEAD", "POST"])
def password_reset_confirm_view(request: HttpRequest, token: str) -> HttpResponse:
    invalid = _("This link is invalid, expired or was already used.")
    if (
        token_check(
            token=token, purpose="reset-password", municipality=request_municipality(request)
        )
        is None
    ):
        return render(request, "accounts/token_invalid.html", {"message": invalid}, status=400)
    form = SetPasswordFields(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                services.password_reset_complete(
                    municipality=request_municipality(request),
                    token=token,
                    password=form.cleaned_data["new_password1"],
                    ip=client_address(request),
                )
            except ApplicationError as error:
                form_show_error(form, error)
            else:
                messages.success(request, _("Your password was changed. Please sign in."))
                return redirect("accounts:login")
        return render(request, "accounts/password_reset_confirm.html", {"form": form}, status=400)
    return render(request, "accounts/password_reset_confirm.html", {"form": form})


# --- The account pages ---------------------------------------------------------------


def _method_label(method: str) -> str:
    if method.startswith("oidc:"):
        return _("sign-in with %(provider)s") % {"provider": method.removeprefix("oidc:")}
    labels = {
        "password": _("password"),
        "password+totp": _("password and authenticator app"),
        "password+recovery_code": _("password and recovery code"),
    }
    return str(labels.get(method, method))


@login_required
@require_http_methods(["GET", "HEAD"])
def account_view(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    return render(
        request,
        "accounts/account.html",
        {
            "trust_level": session_trust_level(request),
            "trust_method_label": _method_label(session_trust_method(request)),
            "consents": selectors.consent_overview(user=user),
        },
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def profile_view(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = ProfileForm(request.POST or None, instance=User.objects.get(pk=user.pk))
    if request.method == "POST":
        if form.is_valid():
            services.profile_update(user=user, data=form.cleaned_data, ip=client_address(request))
            messages.success(request, _("Your details were saved."))
            return redirect("accounts:account")
        return render(request, "accounts/profile.html", {"form": form}, status=400)
    return render(request, "accounts/profile.html", {"form": form})


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def security_view(request: HttpRequest) -> HttpResponse:
    """Set up the second factor: scan the QR code, confirm with a code, keep the recovery codes."""
    user = _user(request)
    context: dict[str, Any] = {}
    status = 200
    if not user.has_second_factor:
        secret = request.session.get(TOTP_SETUP)
        if not isinstance(secret, str) or len(secret) != 32:
            secret = pyotp.random_base32(32)
            request.session[TOTP_SETUP] = secret
        form = TotpConfirmForm(request.POST or None)
        if request.method == "POST":
            if form.is_valid():
                try:
                    codes = services.totp_enable(
                        user=user,
                        secret=secret,
                        code=form.cleaned_data["code"],
                        ip=client_address(request),
                    )
                except ApplicationError as error:
                    form_show_error(form, error)
                    status = 400
                else:
                    request.session.pop(TOTP_SETUP, None)
                    return render(request, "accounts/recovery_codes.html", {"codes": codes})
            else:
                status = 400
        municipality = request_municipality(request)
        uri = services.totp_provisioning(
            user=user, secret=secret, issuer=f"rathaus {municipality.name}"
        )
        context.update(
            form=form,
            secret_groups=[secret[i : i + 4] for i in range(0, len(secret), 4)],
            qr_svg=segno.make(uri, error="m").svg_inline(
                scale=4,
                dark="#1b1b1b",
                light="#ffffff",
                title=_("QR code for your authenticator app"),
            ),
        )
    context["required"] = request.GET.get("pflicht") == "1"
    return render(request, "accounts/security.html", context, status=status)


@login_required
@recent_auth_required
@require_POST
def totp_disable_view(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if services.second_factor_required(user=user):
        messages.error(request, _("Your role requires a second factor; it cannot be turned off."))
        return redirect("accounts:security")
    services.totp_disable(user=user, ip=client_address(request))
    messages.success(request, _("The second factor is turned off."))
    return redirect("accounts:security")


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def reauth_view(request: HttpRequest) -> HttpResponse:
    """Ask for the password (and code) again before a sensitive action."""
    user = _user(request)
    form = PasswordConfirmForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.password_check(
                request=request, email=user.email, password=form.cleaned_data["password"]
            )
            if user.has_second_factor:
                services.second_factor_check(
                    request=request, user=user, code=form.cleaned_data.get("code", "")
                )
        except ApplicationError as error:
            form_show_error(form, error)
        else:
            reauth_mark(request)
            return redirect(_safe_next(request))
        return render(
            request, "accounts/reauth.html", {"form": form, "next": _safe_next(request)}, status=400
        )
    return render(
        request,
        "accounts/reauth.html",
        {"form": form, "next": _safe_next(request)},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def consents_view(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if request.method == "POST":
        purpose = request.POST.get("purpose", "")
        if purpose not in ConsentRecord.Purpose.values:
            return render(
                request,
                "accounts/consents.html",
                {"consents": selectors.consent_overview(user=user), "error": _("Unknown purpose.")},
                status=400,
            )
        if purpose == ConsentRecord.Purpose.TERMS and request.POST.get("action") == "withdraw":
            messages.error(
                request,
                _(
                    "The terms of use cannot be withdrawn while the account exists; "
                    "close the account instead."
                ),
            )
        elif request.POST.get("action") == "withdraw":
            services.consent_withdraw(user=user, purpose=purpose, ip=client_address(request))
            messages.success(request, _("Your consent was withdrawn."))
        else:
            services.consent_grant(user=user, purpose=purpose, ip=client_address(request))
            messages.success(request, _("Your consent was recorded."))
        return redirect("accounts:consents")
    return render(
        request, "accounts/consents.html", {"consents": selectors.consent_overview(user=user)}
    )


@login_required
@recent_auth_required
@require_http_methods(["GET", "HEAD", "POST"])
def delete_account_view(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = DeleteAccountForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                services.password_check(
                    request=request, email=user.email, password=form.cleaned_data["password"]
                )
            except ApplicationError as error:
                form_show_error(form, error)
            else:
                report = services.account_delete(user=user, ip=client_address(request))
                logout(request)
                return render(request, "accounts/deleted.html", {"report": report})
        return render(
            request,
            "accounts/delete.html",
            {"form": form, "kept": services.account_deletion_preview(user=user)},
            status=400,
        )
    return render(
        request,
        "accounts/delete.html",
        {"form": form, "kept": services.account_deletion_preview(user=user)},
    )


@login_required
@require_http_methods(["GET", "HEAD"])
def data_view(request: HttpRequest) -> HttpResponse:
    """Everything rathaus holds about the person, readable; with a JSON download."""
    user = _user(request)
    audit_record(
        municipality=request_municipality(request),
        action="privacy.personal_data.exported",
        actor=user,
        target=user,
        data={"format": "html"},
        ip=client_address(request),
    )
    return render(request, "accounts/data.html", {"sections": personal_data_collect(user=user)})


@login_required
@require_http_methods(["GET", "HEAD"])
def data_export_view(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    audit_record(
        municipality=request_municipality(request),
        action="privacy.personal_data.exported",
        actor=user,
        target=user,
        data={"format": "json"},
        ip=client_address(request),
    )
    response = HttpResponse(
        personal_data_json(user=user), content_type="application/json; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="meine-daten.json"'
    return response
