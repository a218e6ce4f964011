"""The pages every German public website needs, per municipality.

Imprint (§ 5 DDG), privacy notice (Art. 13 GDPR) and the accessibility statement
(§ 12b BGG / BITV 2.0) with its feedback mechanism and the arbitration body.
"""

from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from rathaus.core.models import TenantModel


class LegalPage(TenantModel):
    class Kind(models.TextChoices):
        IMPRINT = "imprint", _("Imprint")
        PRIVACY = "privacy", _("Privacy notice")
        ACCESSIBILITY = "accessibility", _("Accessibility statement")

    class Conformance(models.TextChoices):
        FULL = "full", _("fully compliant")
        PARTIAL = "partial", _("partially compliant")
        NONE = "none", _("not compliant")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    title_de = models.CharField(_("title (German)"), max_length=200)
    title_en = models.CharField(_("title (English)"), max_length=200, blank=True)
    # Sanitised HTML (see services.clean_html); rendered as is.
    body_de = models.TextField(_("text (German)"))
    body_en = models.TextField(_("text (English)"), blank=True)
    # Only for the accessibility statement (BITV 2.0 § 7, Anlage 2):
    conformance = models.CharField(
        _("conformance"), max_length=10, choices=Conformance.choices, blank=True
    )
    prepared_on = models.DateField(_("statement prepared on"), null=True, blank=True)
    feedback_email = models.EmailField(_("e-mail for accessibility feedback"), blank=True)
    arbitration_name = models.CharField(_("arbitration body"), max_length=200, blank=True)
    arbitration_url = models.URLField(_("arbitration body web address"), blank=True)

    class Meta:
        verbose_name = _("legal page")
        verbose_name_plural = _("legal pages")
        ordering = ["kind"]
        constraints = [
            models.UniqueConstraint("municipality", "kind", name="legal_page_one_per_kind")
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def title(self) -> str:
        return self.title_en if get_language() == "en" and self.title_en else self.title_de

    @property
    def body(self) -> str:
        return self.body_en if get_language() == "en" and self.body_en else self.body_de


class AccessibilityFeedback(TenantModel):
    """A barrier reported through the statement's feedback form (BITV 2.0 § 7 (1) 2)."""

    class Status(models.TextChoices):
        NEW = "new", _("new")
        ANSWERED = "answered", _("answered")

    page_url = models.CharField(_("page concerned"), max_length=500, blank=True)
    message = models.TextField(_("message"), max_length=5000)
    email = models.EmailField(_("e-mail for the answer"), blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.NEW
    )

    class Meta:
        verbose_name = _("accessibility feedback")
        verbose_name_plural = _("accessibility feedback")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d} {self.message[:40]}"
