"""What the accounts app holds about a person, for export and erasure."""

from typing import Any

from django.utils.translation import gettext_lazy as _

from rathaus.accounts.models import ApiToken, ConsentRecord, User
from rathaus.privacy import personal_data
from rathaus.privacy.personal_data import Erasure, Kept


@personal_data.register
class AccountData:
    key = "accounts.account"
    title = _("Account and personal details")

    def export(self, user: User) -> dict[str, Any]:
        return {
            "email": user.email,
            "email_verified_at": user.email_verified_at,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "date_of_birth": user.date_of_birth,
            "street": user.street,
            "postcode": user.postcode,
            "city": user.city,
            "phone": user.phone,
            "language": user.language,
            "registered_at": user.date_joined,
            "last_login": user.last_login,
            "second_factor": user.has_second_factor,
            "api_tokens": [
                {
                    "name": t.name,
                    "prefix": t.prefix,
                    "created_at": t.created_at,
                    "revoked_at": t.revoked_at,
                }
                for t in ApiToken.objects.filter(user=user)
            ],
        }

    def erase(self, user: User) -> Erasure:
        # The account row itself is anonymised by accounts.services.account_delete.
        return Erasure()

    def retained(self, user: User) -> list[Kept]:
        return []


@personal_data.register
class ConsentData:
    key = "accounts.consents"
    title = _("Consents")

    def export(self, user: User) -> list[dict[str, Any]]:
        return [
            {
                "purpose": c.purpose,
                "text_version": c.text_version,
                "granted_at": c.granted_at,
                "withdrawn_at": c.withdrawn_at,
            }
            for c in ConsentRecord.objects.filter(user=user).order_by("granted_at")
        ]

    def erase(self, user: User) -> Erasure:
        kept = self.retained(user)
        return Erasure(kept=kept)

    def retained(self, user: User) -> list[Kept]:
        if not ConsentRecord.objects.filter(user=user).exists():
            return []
        return [
            Kept(
                what=_("Records of your consents"),
                why=_("We must be able to prove that you consented (Art. 7 (1) GDPR)."),
                until=_("three years after the end of the year the account was closed"),
            )
        ]
