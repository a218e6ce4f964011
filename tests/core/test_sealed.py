"""Secrets the server must read back are sealed in the database, not stored in clear."""

import pytest
from django.db import connection

from rathaus.accounts.models import User
from rathaus.core.sealed import SealedCharField, Unreadable, seal, unseal
from tests.factories import StaffFactory

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def _stored(user: User) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT totp_secret FROM accounts_user WHERE id = %s", [user.pk])
        return str(cursor.fetchone()[0])


@pytest.mark.django_db
def test_the_second_factor_secret_is_sealed_at_rest_and_clear_in_python() -> None:
    user = StaffFactory()
    user.totp_secret = SECRET
    user.save(update_fields=["totp_secret"])
    stored = _stored(user)
    assert stored.startswith("sealed:")
    assert SECRET not in stored
    assert User.objects.get(pk=user.pk).totp_secret == SECRET
    # Emptiness stays queryable
    assert not User.objects.filter(pk=user.pk, totp_secret="").exists()


@pytest.mark.django_db
def test_values_from_before_sealing_are_read_and_sealed_on_save() -> None:
    user = StaffFactory()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE accounts_user SET totp_secret = %s WHERE id = %s", [SECRET, user.pk])
    legacy = User.objects.get(pk=user.pk)
    assert legacy.totp_secret == SECRET
    legacy.save(update_fields=["totp_secret"])
    assert _stored(legacy).startswith("sealed:")


def test_a_rotated_secret_key_still_opens_old_values(settings: object) -> None:
    sealed = seal(SECRET)
    settings.SECRET_KEY = "a-new-secret-key-" + "n" * 40  # type: ignore[attr-defined]
    settings.SECRET_KEY_FALLBACKS = ["test-only-secret-key-not-for-production-use-0123456789"]  # type: ignore[attr-defined]
    assert unseal(sealed) == SECRET
    settings.SECRET_KEY_FALLBACKS = []  # type: ignore[attr-defined]
    with pytest.raises(Unreadable):
        unseal(sealed)


def test_tampered_values_are_refused() -> None:
    sealed = seal(SECRET)
    tampered = sealed[:-6] + ("A" if sealed[-6] != "A" else "B") + sealed[-5:]
    with pytest.raises(Unreadable):
        unseal(tampered)


@pytest.mark.parametrize("clear", [1, 64, 255])
def test_the_column_holds_the_longest_sealed_value(clear: int) -> None:
    field = SealedCharField(max_length=clear)
    assert len(seal("ü" * clear)) <= field.max_length
