"""Which OpenID Connect providers this installation trusts (``RATHAUS_OIDC_PROVIDERS``).

The setting is a dict ``name → provider``; ``provider_errors`` explains everything wrong
with it (the system check shows those messages at startup) and ``providers`` turns it
into typed ``ProviderConfig`` objects. With ``RATHAUS_DEV_IDP`` on, the development
identity provider is added as ``devidp``, at the origin of the current request.
"""

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from rathaus.accounts.trust import TrustLevel
from rathaus.devidp import registration as devidp

DEV_IDP = "devidp"
CITIZENS = "citizens"
STAFF = "staff"
AUDIENCES = (CITIZENS, STAFF)
# Account fields a provider's claims can fill, and where a standard provider keeps them.
DEFAULT_CLAIMS = {
    "first_name": "given_name",
    "last_name": "family_name",
    "email": "email",
    "date_of_birth": "birthdate",
    "street": "address.street_address",
    "postcode": "address.postal_code",
    "city": "address.locality",
}
CLAIM_FIELDS = tuple(DEFAULT_CLAIMS)
DEFAULT_SCOPES = ("openid", "profile", "email", "address")
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
CLAIM_PATH_RE = re.compile(r"^[A-Za-z0-9_:/.-]{1,100}$")
KNOWN_KEYS = {
    "label",
    "issuer",
    "client_id",
    "client_secret",
    "scopes",
    "audience",
    "claims",
    "trust",
    "userinfo",
}
REQUIRED_KEYS = ("label", "issuer", "client_id", "client_secret")
LEVELS = {int(level) for level in TrustLevel if level > TrustLevel.NONE}


def _is_level(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value in LEVELS


@dataclass(frozen=True)
class ProviderConfig:
    """One OpenID Connect provider, as configured."""

    name: str
    label: str | Promise
    issuer: str
    client_id: str
    client_secret: str
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    audience: str = CITIZENS
    claims: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_CLAIMS))
    trust_claim: str = ""
    trust_values: Mapping[str, TrustLevel] = field(default_factory=dict)
    trust_default: TrustLevel = TrustLevel.BASIC
    trust_fixed: TrustLevel | None = None
    userinfo: bool = True
    is_test: bool = False

    @property
    def for_staff(self) -> bool:
        return self.audience == STAFF

    @property
    def max_level(self) -> TrustLevel:
        """The highest trust level a login here can reach."""
        if self.trust_fixed is not None:
            return self.trust_fixed
        return max([self.trust_default, *self.trust_values.values()])

    def level_of(self, claims: Mapping[str, Any]) -> TrustLevel:
        """The trust level a login with these (validated) ID token claims reached."""
        if self.trust_fixed is not None:
            return self.trust_fixed
        value = claims.get(self.trust_claim)
        if isinstance(value, str) and value in self.trust_values:
            return self.trust_values[value]
        return self.trust_default

    def acr_values_for(self, level: TrustLevel) -> list[str]:
        """The ``acr`` values that satisfy ``level``, strongest first (for ``acr_values``)."""
        if self.trust_fixed is not None or self.trust_claim != "acr":
            return []
        good = [(lvl, value) for value, lvl in self.trust_values.items() if lvl >= level]
        return [value for _lvl, value in sorted(good, key=lambda pair: -pair[0])]


def url_allowed(url: str) -> bool:
    """HTTPS, or plain HTTP to this machine only (development, tests)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        return False
    if not host or parts.username or parts.password or parts.fragment:
        return False
    if parts.scheme == "https":
        return True
    return parts.scheme == "http" and is_loopback_host(host)


def is_loopback_host(host: str) -> bool:
    """``localhost``, a ``*.localhost`` name (RFC 6761) or a loopback address."""
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _trust_errors(where: str, trust: object) -> list[str]:
    if not isinstance(trust, dict):
        return [f'{where}: "trust" must be an object ({{"fixed": 3}} or {{"claim": "acr", ...}})']
    if "fixed" in trust:
        if set(trust) != {"fixed"}:
            return [f'{where}: "trust" with "fixed" takes no other keys']
        if not _is_level(trust["fixed"]):
            return [f'{where}: "trust.fixed" must be 1 (basic), 2 (substantial) or 3 (high)']
        return []
    errors = []
    if set(trust) - {"claim", "values", "default"}:
        errors.append(f'{where}: "trust" knows only "fixed", or "claim", "values", "default"')
    if not isinstance(trust.get("claim"), str) or not CLAIM_PATH_RE.match(trust["claim"]):
        errors.append(f'{where}: "trust.claim" must name a claim, e.g. "acr"')
    values = trust.get("values")
    if (
        not isinstance(values, dict)
        or not values
        or not all(isinstance(key, str) and key for key in values)
        or not all(_is_level(v) for v in values.values())
    ):
        errors.append(
            f'{where}: "trust.values" must map claim values to levels 1-3, '
            'e.g. {"urn:eid:high": 3}'
        )
    default = trust.get("default", 1)
    if not _is_level(default):
        errors.append(f'{where}: "trust.default" must be 1, 2 or 3')
    return errors


def _provider_errors(name: object, raw: object) -> list[str]:
    where = f"RATHAUS_OIDC_PROVIDERS[{name!r}]"
    if not isinstance(name, str) or not NAME_RE.match(name):
        return [f"{where}: the name must be 1-40 lower-case letters, digits or hyphens"]
    if not isinstance(raw, dict):
        return [f"{where}: must be an object"]
    errors = []
    if unknown := set(raw) - KNOWN_KEYS:
        errors.append(f"{where}: unknown keys {sorted(unknown)}; known: {sorted(KNOWN_KEYS)}")
    for key in REQUIRED_KEYS:
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            errors.append(f'{where}: "{key}" is required and must be a non-empty string')
    issuer = raw.get("issuer")
    if isinstance(issuer, str) and issuer and not url_allowed(issuer):
        errors.append(
            f'{where}: "issuer" must be an https:// URL (http:// only for localhost), '
            f"got {issuer!r}"
        )
    scopes = raw.get("scopes", list(DEFAULT_SCOPES))
    if (
        not isinstance(scopes, list)
        or not all(isinstance(s, str) and s and " " not in s for s in scopes)
        or "openid" not in scopes
    ):
        errors.append(f'{where}: "scopes" must be a list of scope names including "openid"')
    audience = raw.get("audience", CITIZENS)
    if audience not in AUDIENCES:
        errors.append(f'{where}: "audience" must be "citizens" or "staff", got {audience!r}')
    claims = raw.get("claims", DEFAULT_CLAIMS)
    if not isinstance(claims, dict):
        errors.append(f'{where}: "claims" must map account fields to claim names')
    else:
        if unknown := set(claims) - set(CLAIM_FIELDS):
            errors.append(
                f'{where}: "claims" has unknown fields {sorted(unknown)}; '
                f"known: {list(CLAIM_FIELDS)}"
            )
        if not all(isinstance(v, str) and CLAIM_PATH_RE.match(v) for v in claims.values()):
            errors.append(f'{where}: "claims" values must be claim names like "address.locality"')
        if "email" not in claims:
            errors.append(f'{where}: "claims" must map "email" (accounts are found by it)')
    if "trust" in raw:
        errors.extend(_trust_errors(where, raw["trust"]))
    if not isinstance(raw.get("userinfo", True), bool):
        errors.append(f'{where}: "userinfo" must be true or false')
    return errors


def provider_errors(setting: object) -> list[str]:
    """Everything wrong with a ``RATHAUS_OIDC_PROVIDERS`` value, in plain words."""
    if not isinstance(setting, dict):
        return ["RATHAUS_OIDC_PROVIDERS must be a dict of provider name → settings"]
    errors = [error for name, raw in setting.items() for error in _provider_errors(name, raw)]
    if DEV_IDP in setting and devidp.enabled():
        errors.append(
            f'RATHAUS_OIDC_PROVIDERS: the name "{DEV_IDP}" is reserved for the development '
            "identity provider while RATHAUS_DEV_IDP is on"
        )
    return errors


def _parse(name: str, raw: dict[str, Any]) -> ProviderConfig:
    trust = raw.get("trust", {"fixed": 1})
    fixed = TrustLevel(trust["fixed"]) if "fixed" in trust else None
    return ProviderConfig(
        name=name,
        label=raw["label"],
        issuer=raw["issuer"],
        client_id=raw["client_id"],
        client_secret=raw["client_secret"],
        scopes=tuple(raw.get("scopes", DEFAULT_SCOPES)),
        audience=raw.get("audience", CITIZENS),
        claims=dict(raw.get("claims", DEFAULT_CLAIMS)),
        trust_claim="" if fixed is not None else trust["claim"],
        trust_values={k: TrustLevel(v) for k, v in trust.get("values", {}).items()},
        trust_default=TrustLevel(trust.get("default", 1)),
        trust_fixed=fixed,
        userinfo=raw.get("userinfo", True),
    )


def _dev_idp(request: HttpRequest) -> ProviderConfig:
    return ProviderConfig(
        name=DEV_IDP,
        label=_("TEST identity provider (not for real sign-ins)"),
        issuer=devidp.issuer_for(request),
        client_id=devidp.CLIENT_ID,
        client_secret=devidp.client_secret(),
        trust_claim="acr",
        trust_values={
            devidp.ACR_HIGH: TrustLevel.HIGH,
            devidp.ACR_SUBSTANTIAL: TrustLevel.SUBSTANTIAL,
            devidp.ACR_BASIC: TrustLevel.BASIC,
        },
        is_test=True,
    )


def providers(request: HttpRequest | None = None) -> dict[str, ProviderConfig]:
    """The configured providers by name; with a request, the dev IdP too (when on)."""
    setting = getattr(settings, "RATHAUS_OIDC_PROVIDERS", None)
    setting = {} if setting is None else setting
    if errors := provider_errors(setting):
        raise ImproperlyConfigured("; ".join(errors))
    result = {name: _parse(name, raw) for name, raw in setting.items()}
    if request is not None and devidp.enabled():
        result[DEV_IDP] = _dev_idp(request)
    return result


def provider_get(request: HttpRequest, name: str) -> ProviderConfig | None:
    """The provider called ``name`` as seen from ``request``, or None."""
    return providers(request).get(name)
