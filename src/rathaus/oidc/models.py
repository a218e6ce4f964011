"""Accounts' identities at OpenID Connect providers."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from rathaus.core.models import TenantModel


class ExternalIdentity(TenantModel):
    """A person's identity at a provider (``provider`` + ``sub``), linked to an account.

    The subject is unique per provider within a municipality; an account may hold
    several (say, an eID login and an ELSTER login).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="external_identities",
        verbose_name=_("account"),
    )
    provider = models.CharField(_("identity provider"), max_length=40)
    subject = models.CharField(_("subject identifier"), max_length=255)
    last_login_at = models.DateTimeField(_("last sign-in"), null=True, blank=True)

    class Meta:
        verbose_name = _("external identity")
        verbose_name_plural = _("external identities")
        constraints = [
            models.UniqueConstraint(
                "municipality", "provider", "subject", name="oidc_identity_unique_subject"
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.subject}"
