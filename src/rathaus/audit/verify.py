"""Checking the audit trail: recompute every hash and follow every link of a chain.

A chain is intact when its events are numbered 1, 2, 3, ... without gaps, each event's
stored hash is the hash of its stored fields, each event names the hash of the one
before it (the first names ``GENESIS_HASH``), and the chain head (the row appending
locks) points at the last event. Changing a row breaks its hash; deleting one leaves a
gap; deleting the newest ones leaves the head pointing past the end.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import OuterRef, Subquery
from django.utils.translation import gettext as _

from rathaus.audit.chain import GENESIS_HASH, event_hash_of
from rathaus.audit.models import PLATFORM_CHAIN, AuditChainHead, AuditEvent, chain_key
from rathaus.core.errors import NotFound
from rathaus.core.models import Municipality

#: Events read per database round trip; verification never holds a whole chain in memory.
CHUNK_SIZE = 2000


@dataclass(frozen=True)
class BrokenEntry:
    """The first entry of a chain that fails verification.

    ``event_id`` is None when the entry is missing altogether (deleted). ``reason`` is
    a stable code: ``hash_mismatch`` (the stored fields were changed),
    ``previous_hash_mismatch`` (the link to the previous event is broken),
    ``missing`` (rows were deleted), ``wrong_municipality`` (the row was moved to
    another tenant), ``head_mismatch``, ``head_missing`` or ``after_head`` (the chain
    head does not match the last event).
    """

    sequence: int
    event_id: int | None
    reason: str
    detail: str


@dataclass(frozen=True)
class ChainReport:
    """The result of verifying one chain."""

    chain: str
    checked: int
    first_broken: BrokenEntry | None = None

    @property
    def ok(self) -> bool:
        return self.first_broken is None


def chain_verify(*, chain: str) -> ChainReport:
    """Verify one chain (``str(municipality_id)`` or ``"platform"``) from its first event.

    Reads the events in sequence order in chunks. Events appended while the check runs
    are left for the next run: the check stops at the head it read first.
    """
    head = AuditChainHead.objects.filter(chain=chain).first()
    events = AuditEvent.objects.filter(chain=chain).order_by("sequence")
    if head is not None:
        events = events.filter(sequence__lte=head.sequence)
    expected, previous_hash, checked = 1, GENESIS_HASH, 0
    last: AuditEvent | None = None

    def broken(sequence: int, event_id: int | None, reason: str, detail: str) -> ChainReport:
        return ChainReport(chain, checked, BrokenEntry(sequence, event_id, reason, detail))

    for event in events.iterator(chunk_size=CHUNK_SIZE):
        if event.sequence != expected:
            return broken(
                expected,
                None,
                "missing",
                _(
                    "entry %(expected)s is missing (deleted); the chain continues with "
                    "entry %(found)s (id %(id)s)"
                )
                % {"expected": expected, "found": event.sequence, "id": event.pk},
            )
        if event_hash_of(event) != event.hash:
            return broken(
                event.sequence,
                event.pk,
                "hash_mismatch",
                _("the stored hash does not match the entry's content (the entry was changed)"),
            )
        if event.previous_hash != previous_hash:
            return broken(
                event.sequence,
                event.pk,
                "previous_hash_mismatch",
                _("the entry does not name the hash of the entry before it"),
            )
        if chain_key(event.municipality_id) != chain:
            return broken(
                event.sequence,
                event.pk,
                "wrong_municipality",
                _("the entry belongs to this chain but is filed under another municipality"),
            )
        checked += 1
        previous_hash, expected, last = event.hash, expected + 1, event

    if head is None:
        if last is not None:
            return broken(
                last.sequence, last.pk, "head_missing", _("the chain head row is missing")
            )
        return ChainReport(chain, checked)
    if head.sequence > checked:
        return broken(
            checked + 1,
            None,
            "missing",
            _(
                "the chain head records %(head)s entries, but the chain ends after entry "
                "%(last)s (the newest entries were deleted)"
            )
            % {"head": head.sequence, "last": checked},
        )
    if last is not None and head.hash != last.hash:
        return broken(
            last.sequence,
            last.pk,
            "head_mismatch",
            _("the chain head names a different hash than the last entry"),
        )
    # One statement compares with the head as it is now, so a genuine append that
    # committed while we were reading (event and head together) is never reported.
    current_head = AuditChainHead.objects.filter(chain=OuterRef("chain")).values("sequence")[:1]
    beyond = (
        AuditEvent.objects.filter(chain=chain, sequence__gt=Subquery(current_head))
        .order_by("sequence")
        .only("pk", "sequence")
        .first()
    )
    if beyond is not None:
        return broken(
            beyond.sequence,
            beyond.pk,
            "after_head",
            _("the entry comes after the chain head (it was added outside the application)"),
        )
    return ChainReport(chain, checked)


def _chain_order(chain: str) -> tuple[int, int]:
    return (0, 0) if chain == PLATFORM_CHAIN else (1, int(chain) if chain.isdigit() else -1)


def chain_names() -> list[str]:
    """Every chain that has a head or events: the platform chain first, then by tenant id."""
    names: Iterable[str] = set(AuditChainHead.objects.values_list("chain", flat=True)) | set(
        AuditEvent.objects.order_by().values_list("chain", flat=True).distinct()
    )
    return sorted(names, key=_chain_order)


def chains_verify(*, municipality_slug: str | None = None) -> list[ChainReport]:
    """Verify the chain of the municipality with ``municipality_slug``, or every chain.

    Raises ``NotFound`` for an unknown slug. A municipality without events has an empty,
    intact chain.
    """
    if municipality_slug is None:
        return [chain_verify(chain=chain) for chain in chain_names()]
    municipality = Municipality.objects.filter(slug=municipality_slug).first()
    if municipality is None:
        raise NotFound(
            _("There is no municipality with the short name %(slug)s.")
            % {"slug": municipality_slug},
            code="unknown_municipality",
        )
    return [chain_verify(chain=chain_key(municipality.pk))]
