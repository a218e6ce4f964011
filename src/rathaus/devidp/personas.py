"""The fixed test people of the dev IdP. All data is made up (the ID card specimen name)."""

from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from rathaus.devidp.registration import ACR_BASIC, ACR_HIGH, ACR_SUBSTANTIAL


@dataclass(frozen=True)
class Persona:
    key: str
    subject: str
    given_name: str
    family_name: str
    email: str
    method: Promise
    acr: str
    birthdate: str = ""
    street_address: str = ""
    postal_code: str = ""
    locality: str = ""

    @property
    def name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    def claims(self) -> dict[str, Any]:
        """The identity claims (userinfo), without protocol claims."""
        claims: dict[str, Any] = {
            "sub": self.subject,
            "given_name": self.given_name,
            "family_name": self.family_name,
            "name": self.name,
            "email": self.email,
            "email_verified": True,
        }
        if self.birthdate:
            claims["birthdate"] = self.birthdate
        if self.street_address:
            claims["address"] = {
                "street_address": self.street_address,
                "postal_code": self.postal_code,
                "locality": self.locality,
                "country": "DE",
            }
        return claims


PERSONAS: tuple[Persona, ...] = (
    Persona(
        key="erika",
        subject="devidp-7c1e5b2a-erika",
        given_name="Erika",
        family_name="Mustermann",
        email="erika.mustermann@example.org",
        method=_("online ID card (eID), level high"),
        acr=ACR_HIGH,
        birthdate="1964-08-12",
        street_address="Heidestraße 17",
        postal_code="51147",
        locality="Köln",
    ),
    Persona(
        key="max",
        subject="devidp-4d9f0a31-max",
        given_name="Max",
        family_name="Mustermann",
        email="max.mustermann@example.org",
        method=_("ELSTER certificate, level substantial"),
        acr=ACR_SUBSTANTIAL,
        birthdate="1979-03-21",
        street_address="Marktplatz 3",
        postal_code="71634",
        locality="Musterstadt",
    ),
    Persona(
        key="anna",
        subject="devidp-b2e86c07-anna",
        given_name="Anna",
        family_name="Beispiel",
        email="anna.beispiel@example.org",
        method=_("user name and password, level basic"),
        acr=ACR_BASIC,
    ),
)


def persona_get(key: str) -> Persona | None:
    """The persona named ``key``, or None."""
    return next((persona for persona in PERSONAS if persona.key == key), None)
