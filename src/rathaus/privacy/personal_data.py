"""Data subject rights across all apps (GDPR Art. 15, 17, 20).

Every app that stores personal data about an account registers a provider in its
``personal_data`` module. The account pages then export everything (JSON and a
readable summary) and erase everything on deletion, while providers say what they
must keep and why (legal retention), so the citizen gets a true explanation.
"""

from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from django.utils.functional import Promise
from django.utils.module_loading import autodiscover_modules


@dataclass(frozen=True)
class Kept:
    """Something that stays after deletion, and the reason the law gives."""

    what: str | Promise
    why: str | Promise
    until: str | Promise = ""


@dataclass
class Erasure:
    deleted: int = 0
    anonymised: int = 0
    kept: list[Kept] = field(default_factory=list)


class PersonalDataProvider(Protocol):
    @property
    def key(self) -> str:
        """Stable machine name, e.g. ``accounts.account``."""

    @property
    def title(self) -> str | Promise:
        """Heading in the readable summary."""

    def export(self, user: Any) -> Any:
        """JSON-serialisable data about ``user``."""

    def erase(self, user: Any) -> Erasure:
        """Delete or anonymise what may go; report what must stay."""

    def retained(self, user: Any) -> list[Kept]:
        """What ``erase`` would keep, and why (shown before the account is closed)."""


_providers: dict[str, PersonalDataProvider] = {}


P = TypeVar("P", bound=type)


def register(provider_class: P) -> P:
    """Class decorator: ``@personal_data.register`` on a provider class."""
    provider: PersonalDataProvider = provider_class()
    _providers[provider.key] = provider
    return provider_class


def providers() -> list[PersonalDataProvider]:
    """All registered providers, in a stable order."""
    autodiscover_modules("personal_data")
    return [_providers[key] for key in sorted(_providers)]
