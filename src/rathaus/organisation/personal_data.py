"""Role grants of a staff account: exported on request, removed when the account closes."""

from typing import Any

from django.utils.translation import gettext_lazy as _

from rathaus.organisation.models import RoleGrant
from rathaus.privacy import personal_data
from rathaus.privacy.personal_data import Erasure, Kept


@personal_data.register
class RoleGrantData:
    key = "organisation.role_grants"
    title = _("Roles in the administration")

    def export(self, user: Any) -> list[dict[str, Any]]:
        return [
            {
                "role": grant.role.name_de,
                "org_unit": grant.org_unit.name_de,
                "include_subunits": grant.include_subunits,
                "granted_at": grant.granted_at,
                "valid_until": grant.valid_until,
            }
            for grant in RoleGrant.objects.filter(user=user).select_related("role", "org_unit")
        ]

    def erase(self, user: Any) -> Erasure:
        deleted, _ = RoleGrant.objects.filter(user=user).delete()
        return Erasure(deleted=deleted)

    def retained(self, user: Any) -> list[Kept]:
        return []
