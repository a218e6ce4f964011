"""Fixtures of the OpenID Connect tests: a fake external provider and its configuration."""

from collections.abc import Iterator
from typing import Any

import pytest

from tests.oidc.fake_provider import FakeProvider, fake_provider, new_ec_key, new_rsa_key
from tests.oidc.helpers import provider_settings


@pytest.fixture(scope="session")
def rsa_key() -> Any:
    return new_rsa_key()


@pytest.fixture(scope="session")
def other_rsa_key() -> Any:
    return new_rsa_key()


@pytest.fixture(scope="session")
def ec_key() -> Any:
    return new_ec_key()


@pytest.fixture
def op(rsa_key: Any) -> Iterator[FakeProvider]:
    """An external provider on loopback, signing with ``rsa_key`` as ``key-1``."""
    with fake_provider(rsa_key) as provider:
        yield provider


@pytest.fixture
def configured(settings: Any, op: FakeProvider) -> dict[str, Any]:
    """Providers "ext" (acr-based, up to high), "pw" (basic only), "staff-sso" (staff)."""
    settings.RATHAUS_OIDC_PROVIDERS = provider_settings(op)
    settings.RATHAUS_DEV_IDP = False
    return settings.RATHAUS_OIDC_PROVIDERS  # type: ignore[no-any-return]
