"""Retention: how long personal data is kept, applied by a scheduled task.

A model declares a rule with ``retention.register(RetentionRule(...))`` in its app's
``retention`` module: which date field counts, how long by default (a per-municipality setting can
change it), and whether old rows are deleted or anonymised. ``retention_apply`` is safe
to rerun: it only ever touches rows past their period, and writes what it did to the
audit trail.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from django.db import models, transaction
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules

from rathaus.audit.services import audit_record
from rathaus.core.models import Municipality


@dataclass(frozen=True)
class RetentionRule:
    key: str
    model: type[models.Model]
    date_field: str
    default_days: int
    action: Literal["delete", "anonymise"]
    anonymise: Callable[[models.QuerySet[Any]], int] | None = None
    #: extra filter, e.g. only closed cases: ``{"status": "closed"}``
    only: dict[str, Any] | None = None
    #: the lookup from the model to its municipality
    tenant_field: str = "municipality"

    def setting_key(self) -> str:
        return f"retention.{self.key}.days"


@dataclass(frozen=True)
class RetentionResult:
    rule: str
    municipality: str
    cutoff: datetime
    deleted: int
    anonymised: int


_rules: dict[str, RetentionRule] = {}


def register(rule: RetentionRule) -> RetentionRule:
    if rule.action == "anonymise" and rule.anonymise is None:
        raise ValueError(f"{rule.key}: anonymising needs an anonymise function")
    _rules[rule.key] = rule
    return rule


def rules() -> list[RetentionRule]:
    autodiscover_modules("retention")
    return [_rules[key] for key in sorted(_rules)]


def rule_days(*, rule: RetentionRule, municipality: Municipality) -> int:
    """The retention period in force at ``municipality`` (its setting, else the default)."""
    value = (municipality.settings or {}).get(rule.setting_key())
    return value if isinstance(value, int) and value > 0 else rule.default_days


def retention_apply(*, now: datetime | None = None, dry_run: bool = False) -> list[RetentionResult]:
    """Delete or anonymise every row past its period, per municipality; audited."""
    now = now or timezone.now()
    results = []
    for rule in rules():
        for municipality in Municipality.objects.all():
            cutoff = now - timedelta(days=rule_days(rule=rule, municipality=municipality))
            queryset = rule.model._default_manager.filter(
                **{rule.tenant_field: municipality, f"{rule.date_field}__lt": cutoff},
                **(rule.only or {}),
            )
            deleted = anonymised = 0
            with transaction.atomic():
                if dry_run:
                    count = queryset.count()
                    deleted, anonymised = (count, 0) if rule.action == "delete" else (0, count)
                elif rule.action == "delete":
                    deleted = queryset.delete()[0]
                else:
                    assert rule.anonymise is not None
                    anonymised = rule.anonymise(queryset)
                if (deleted or anonymised) and not dry_run:
                    audit_record(
                        municipality=municipality,
                        action="retention.applied",
                        data={
                            "rule": rule.key,
                            "cutoff": cutoff.isoformat(),
                            "deleted": deleted,
                            "anonymised": anonymised,
                        },
                    )
            results.append(
                RetentionResult(rule.key, municipality.slug, cutoff, deleted, anonymised)
            )
    return results
