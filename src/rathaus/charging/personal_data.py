"""What the charging module holds about a person: their charging cards and sessions.

On closing the account the cards are blocked and unlinked; the charge detail records stay
(accounting records), without the link to the person after the retention period.
"""

from typing import Any

from django.utils.translation import gettext_lazy as _

from rathaus.charging.models import ChargingSession, Token
from rathaus.charging.retention import PSEUDONYMISE_DAYS
from rathaus.privacy import personal_data
from rathaus.privacy.personal_data import Erasure, Kept


@personal_data.register
class ChargingData:
    key = "charging.tokens"
    title = _("Charging stations")

    def export(self, user: Any) -> list[dict[str, Any]]:
        tokens = list(Token.objects.filter(user=user).order_by("pk"))
        sessions = ChargingSession.objects.filter(token__in=tokens).select_related("station")
        return [
            {
                "token": token.uid,
                "kind": token.kind,
                "contract": token.contract_ref,
                "active": token.is_active,
                "sessions": [
                    {
                        "station": s.station.name,
                        "started_at": s.started_at,
                        "stopped_at": s.stopped_at,
                        "energy_wh": s.energy_wh,
                        "cost_total_ct": s.cost_total_ct,
                    }
                    for s in sessions
                    if s.token_id == token.pk
                ],
            }
            for token in tokens
        ]

    def erase(self, user: Any) -> Erasure:
        kept = self.retained(user)
        updated = Token.objects.filter(user=user).update(user=None, holder="", is_active=False)
        return Erasure(anonymised=updated, kept=kept)

    def retained(self, user: Any) -> list[Kept]:
        if not ChargingSession.objects.filter(token__user=user).exists():
            return []
        return [
            Kept(
                what=_("Charge detail records of your charging sessions"),
                why=_("They are accounting records of the municipal charging service."),
                until=_("%(days)d days with your card number, then anonymous")
                % {"days": PSEUDONYMISE_DAYS},
            )
        ]
