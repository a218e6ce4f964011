"""API and login authentication, both scoped to the request's municipality."""

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from rathaus.accounts.models import ApiToken, User, hash_token


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer rh_…``. A token works only at its user's municipality."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        header = request.headers.get("Authorization", "")
        if not header.startswith(self.keyword + " "):
            return None
        raw = header[len(self.keyword) + 1 :].strip()
        if not raw or len(raw) > 200:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        token = ApiToken.objects.select_related("user").filter(key_hash=hash_token(raw)).first()
        if token is None or not token.is_usable or not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        municipality = getattr(request, "municipality", None)
        if token.user.municipality_id is not None and (
            municipality is None or token.user.municipality_id != municipality.pk
        ):
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        now = timezone.now()
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class MunicipalityEmailBackend(ModelBackend):
    """Signs in with e-mail and password at the request's municipality.

    Platform operators (no municipality) sign in at any address.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if request is None or not username or password is None:
            return None
        municipality = getattr(request, "municipality", None)
        candidates = User.objects.filter(email__iexact=username.strip())
        user = (
            candidates.filter(municipality=municipality).first()
            if municipality is not None
            else None
        ) or candidates.filter(municipality__isnull=True).first()
        if user is None:
            # Same cost as a real check, so timing does not reveal who has an account.
            User().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
