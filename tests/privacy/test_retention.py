"""Retention rules delete old personal data, per municipality, audited and rerunnable."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from rathaus.audit.models import AuditEvent
from rathaus.core.models import Municipality
from rathaus.legal.models import AccessibilityFeedback
from rathaus.privacy.retention import retention_apply, rules
from tests.factories import AccessibilityFeedbackFactory

pytestmark = pytest.mark.django_db


def _aged(municipality: Municipality, days: int) -> AccessibilityFeedback:
    feedback = AccessibilityFeedbackFactory(municipality=municipality)
    AccessibilityFeedback.objects.filter(pk=feedback.pk).update(
        created_at=timezone.now() - timedelta(days=days)
    )
    return feedback


def test_rules_are_discovered() -> None:
    assert "legal.accessibility_feedback" in [rule.key for rule in rules()]


def test_old_rows_go_recent_rows_stay_and_it_is_audited(municipality: Municipality) -> None:
    old, recent = _aged(municipality, 3 * 365 + 1), _aged(municipality, 3 * 365 - 1)
    results = retention_apply()
    assert list(AccessibilityFeedback.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not AccessibilityFeedback.objects.filter(pk=old.pk).exists()
    applied = [
        r
        for r in results
        if r.rule == "legal.accessibility_feedback" and r.municipality == "musterstadt"
    ]
    assert (applied[0].deleted, applied[0].anonymised) == (1, 0)
    event = AuditEvent.objects.get(action="retention.applied")
    assert (event.municipality, event.data["rule"], event.data["deleted"]) == (
        municipality,
        "legal.accessibility_feedback",
        1,
    )
    # Running again changes nothing and writes nothing.
    retention_apply()
    assert AuditEvent.objects.filter(action="retention.applied").count() == 1


def test_a_municipality_can_keep_data_shorter(
    municipality: Municipality, other_municipality: Municipality
) -> None:
    other_municipality.settings = {"retention.legal.accessibility_feedback.days": 30}
    other_municipality.save()
    here, there = _aged(municipality, 40), _aged(other_municipality, 40)
    retention_apply()
    assert AccessibilityFeedback.objects.filter(pk=here.pk).exists()
    assert not AccessibilityFeedback.objects.filter(pk=there.pk).exists()


def test_dry_run_changes_nothing(
    municipality: Municipality, capsys: pytest.CaptureFixture[str]
) -> None:
    _aged(municipality, 5000)
    call_command("retention", "--dry-run")
    assert AccessibilityFeedback.objects.count() == 1
    assert "would change: deleted 1" in capsys.readouterr().out
    assert not AuditEvent.objects.filter(action="retention.applied").exists()


def test_abandoned_registrations_and_old_withdrawn_consents_go(municipality: Municipality) -> None:
    from rathaus.accounts.models import ConsentRecord, User
    from tests.factories import UserFactory

    abandoned = UserFactory(municipality=municipality, email_verified_at=None, last_login=None)
    fresh = UserFactory(municipality=municipality, email_verified_at=None, last_login=None)
    verified = UserFactory(municipality=municipality, email_verified_at=timezone.now())
    User.objects.filter(pk__in=[abandoned.pk, verified.pk]).update(
        date_joined=timezone.now() - timedelta(days=8)
    )
    old = ConsentRecord.objects.create(user=verified, purpose="sms", text_version="1")
    ConsentRecord.objects.filter(pk=old.pk).update(
        withdrawn_at=timezone.now() - timedelta(days=3 * 365 + 1)
    )
    active = ConsentRecord.objects.create(user=verified, purpose="terms", text_version="1")
    retention_apply()
    assert set(User.objects.values_list("pk", flat=True)) == {fresh.pk, verified.pk}
    assert list(ConsentRecord.objects.values_list("pk", flat=True)) == [active.pk]
