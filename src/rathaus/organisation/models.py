"""The administration as a tree of org units, and roles granted per unit.

A municipality's units form one tree under a single root (the administration as a
whole). Each unit stores its materialised ``path`` of primary keys (``/1/4/9/``), so
"all descendants" is one ``path__startswith`` query and "all ancestors" needs no query
at all. Roles are named sets of Django permissions; a ``RoleGrant`` gives a role to a
staff member in one unit, optionally with all its subunits (ADR 0010).
"""

from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from rathaus.core.models import TenantModel

CODE_VALIDATOR = RegexValidator(
    r"^\w[\w .\-/]{0,29}$",
    _("Use up to 30 letters, digits, spaces, dots, hyphens or slashes, e.g. FB 1 or 10.2."),
)


class OrgUnit(TenantModel):
    """A unit of the administration: Dezernat, Fachbereich, Amt, Bürgerbüro, ..."""

    class Kind(models.TextChoices):
        ADMINISTRATION = "administration", _("Administration")
        DEZERNAT = "dezernat", _("Dezernat")
        FACHBEREICH = "fachbereich", _("Fachbereich")
        AMT = "amt", _("Amt")
        ABTEILUNG = "abteilung", _("Abteilung")
        SACHGEBIET = "sachgebiet", _("Sachgebiet")
        BUERGERBUERO = "buergerbuero", _("Bürgerbüro")
        STABSSTELLE = "stabsstelle", _("Stabsstelle")
        EIGENBETRIEB = "eigenbetrieb", _("Eigenbetrieb")

    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("parent unit"),
    )
    code = models.CharField(
        _("short name"),
        max_length=30,
        validators=[CODE_VALIDATOR],
        help_text=_("Unique within the administration, e.g. FB 1, BB or 20.1."),
    )
    name_de = models.CharField(_("name (German)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    email = models.EmailField(_("e-mail address"), blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    location = models.CharField(
        _("room or location"),
        max_length=200,
        blank=True,
        help_text=_("Where visitors find the unit, e.g. Rathaus, 2nd floor, room 2.14."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    # "/<root pk>/.../<own pk>/", maintained by the services only; never edited by hand.
    path = models.CharField(max_length=500, db_index=True, editable=False)

    class Meta:
        verbose_name = _("org unit")
        verbose_name_plural = _("org units")
        ordering = ["name_de"]
        constraints = [
            models.UniqueConstraint(
                "municipality", Lower("code"), name="organisation_unit_code_unique"
            ),
            models.UniqueConstraint(
                fields=["municipality"],
                condition=models.Q(parent__isnull=True),
                name="organisation_unit_one_root",
            ),
        ]
        permissions = [
            ("manage_units", "Can create, change and move org units"),
            ("manage_roles", "Can manage roles and grant them to staff"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def name(self) -> str:
        return self.name_en if get_language() == "en" and self.name_en else self.name_de

    @property
    def ancestor_ids(self) -> list[int]:
        """Primary keys from the root down to the parent (read from the path, no query)."""
        return [int(part) for part in self.path.strip("/").split("/")[:-1] if part]

    @property
    def depth(self) -> int:
        """0 for the root, 1 for its children, ..."""
        return self.path.count("/") - 2 if self.path else 0

    @property
    def is_root(self) -> bool:
        return self.parent_id is None


class Role(TenantModel):
    """A named set of permissions, granted to staff per org unit."""

    key = models.SlugField(
        _("key"), max_length=50, help_text=_("A stable technical name, e.g. sachbearbeitung.")
    )
    name_de = models.CharField(_("name (German)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100, blank=True)
    description = models.TextField(_("description"), max_length=2000, blank=True)
    permissions = models.ManyToManyField(
        Permission, blank=True, related_name="+", verbose_name=_("permissions")
    )
    is_privileged = models.BooleanField(
        _("privileged"),
        default=False,
        help_text=_("Staff holding a privileged role must sign in with a second factor."),
    )

    class Meta:
        verbose_name = _("role")
        verbose_name_plural = _("roles")
        ordering = ["name_de"]
        constraints = [
            models.UniqueConstraint("municipality", "key", name="organisation_role_key_unique")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.name_en if get_language() == "en" and self.name_en else self.name_de


class RoleGrant(TenantModel):
    """A role held by a staff member in an org unit (and its subunits, by default).

    ``valid_until`` is a calendar date (Europe/Berlin), inclusive: the grant ends at the
    end of that day.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="role_grants",
        verbose_name=_("staff member"),
    )
    role = models.ForeignKey(
        Role, on_delete=models.PROTECT, related_name="grants", verbose_name=_("role")
    )
    org_unit = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="grants", verbose_name=_("org unit")
    )
    include_subunits = models.BooleanField(_("including subunits"), default=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("granted by"),
    )
    granted_at = models.DateTimeField(_("granted at"), default=timezone.now)
    valid_until = models.DateField(_("valid until (inclusive)"), null=True, blank=True)

    class Meta:
        verbose_name = _("role grant")
        verbose_name_plural = _("role grants")
        ordering = ["granted_at"]
        constraints = [
            models.UniqueConstraint(
                "user", "role", "org_unit", name="organisation_grant_once_per_unit"
            )
        ]
        indexes = [models.Index("municipality", "org_unit", name="organisation_grant_unit")]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.role_id} @ {self.org_unit_id}"

    @property
    def is_current(self) -> bool:
        return self.valid_until is None or self.valid_until >= timezone.localdate()
