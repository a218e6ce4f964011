"""People who sign in: citizens and staff of a municipality, and platform operators."""

import hashlib

from django.contrib.auth.models import AbstractUser
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rathaus.core.models import Municipality
from rathaus.core.sealed import SealedCharField

PHONE_VALIDATOR = RegexValidator(
    r"^\+[1-9][0-9 ]{6,18}$", _("Enter the number in international format, e.g. +49 151 23456789.")
)


class User(AbstractUser):
    """An account. Citizens and staff belong to one municipality; operators to none.

    People sign in with their e-mail address, which is unique within a municipality;
    ``username`` stays as Django's internal, globally unique handle.
    """

    municipality = models.ForeignKey(
        Municipality,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("municipality"),
    )
    email = models.EmailField(_("e-mail address"))
    email_verified_at = models.DateTimeField(_("e-mail verified at"), null=True, blank=True)
    language = models.CharField(
        _("preferred language"),
        max_length=5,
        choices=[("de", "Deutsch"), ("en", "English")],
        default="de",
    )
    # What a town hall needs to know of a citizen (filled by the citizen or an eID login).
    date_of_birth = models.DateField(_("date of birth"), null=True, blank=True)
    street = models.CharField(_("street and number"), max_length=200, blank=True)
    postcode = models.CharField(_("postcode"), max_length=10, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    phone = models.CharField(
        _("mobile phone"),
        max_length=20,
        blank=True,
        validators=[PHONE_VALIDATOR],
        help_text=_("In international format, e.g. +49 151 23456789; used for text messages."),
    )

    # Second factor (TOTP, RFC 6238): the shared secret once confirmed with a valid code,
    # sealed at rest (the server needs it in clear to check codes).
    totp_secret = SealedCharField(max_length=64, blank=True, editable=False)
    totp_confirmed_at = models.DateTimeField(_("second factor set up at"), null=True, blank=True)
    # When the account was closed at the holder's request; the row stays anonymised.
    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(
                "municipality", Lower("email"), name="accounts_user_email_unique_per_municipality"
            )
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.email or self.username

    @property
    def has_second_factor(self) -> bool:
        return bool(self.totp_secret and self.totp_confirmed_at)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """A named API credential. Only its SHA-256 is stored; the secret is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(
        _("prefix"), max_length=8, help_text=_("Identifies the token in lists.")
    )
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_usable(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class RecoveryCode(models.Model):
    """A one-time code to sign in when the authenticator app is lost (stored hashed)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    code_hash = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("recovery code")
        verbose_name_plural = _("recovery codes")

    def __str__(self) -> str:
        return f"recovery code of {self.user_id}"


class ConsentRecord(models.Model):
    """What a person agreed to, when, and in which version of the text (GDPR Art. 7 (1))."""

    class Purpose(models.TextChoices):
        TERMS = "terms", _("Terms of use of the citizen account")
        POSTFACH = "postfach", _("Digital delivery of notices to the mailbox (§ 41 (2a) VwVfG)")
        SMS = "sms", _("Notifications by text message")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="consents")
    purpose = models.CharField(_("purpose"), max_length=20, choices=Purpose.choices)
    text_version = models.CharField(_("text version"), max_length=20)
    granted_at = models.DateTimeField(_("granted at"), default=timezone.now)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        ordering = ["-granted_at"]
        constraints = [
            models.UniqueConstraint(
                "user",
                "purpose",
                condition=models.Q(withdrawn_at__isnull=True),
                name="accounts_one_active_consent_per_purpose",
            )
        ]

    def __str__(self) -> str:
        return f"{self.purpose} v{self.text_version}"
