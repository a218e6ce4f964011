"""Every write of Frag den OB: asking, moderating, supporting, following and answering.

A question goes ``pending`` -> (``rephrase`` | ``rejected`` -> edited -> ``pending``)* ->
``published`` -> ``answered``, or ``merged`` into another question. Publication starts
the ``mayor_question`` process (shipped by the workflow app); its service task calls
``fragdenob.publish_answer`` (``workflow_handlers.py``), which lands in ``answer_publish``.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from django.core import signing
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rathaus.accounts.models import User
from rathaus.accounts.trust import TrustLevel
from rathaus.audit.services import audit_record
from rathaus.core.errors import (
    ApplicationError,
    Conflict,
    NotFound,
    PermissionDenied,
    RateLimited,
    ValidationFailed,
)
from rathaus.core.models import Municipality
from rathaus.core.municipal_settings import municipal_setting
from rathaus.core.tenancy import municipality_site_url
from rathaus.fragdenob import limits, selectors
from rathaus.fragdenob.models import (
    MANAGE,
    MODERATE,
    CodexRule,
    District,
    ElectionFreeze,
    Follow,
    ModerationDecision,
    Question,
    Support,
    Topic,
)
from rathaus.notifications.services import notify
from rathaus.organisation.permissions import user_can_anywhere
from rathaus.workflow import services as workflow
from rathaus.workflow.models import ProcessVersion

BERLIN = ZoneInfo("Europe/Berlin")
PROCESS_KEY = "mayor_question"
UNFOLLOW_SALT = "fragdenob.unfollow"
NOTE_MAX_CHARS = 2000
ANSWER_MAX_CHARS = 5000
# Control characters other than line breaks and tabs have no place in a question.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# The codex a municipality starts with (after abgeordnetenwatch.de's moderation codex);
# moderators may reword and extend it, the keys stay stable for the public counts.
DEFAULT_CODEX: tuple[tuple[str, str, str, str, str], ...] = (
    (
        "insult",
        "Beleidigung",
        "Insult",
        "Fragen mit Beleidigungen, Drohungen oder herabwürdigender Sprache veröffentlichen "
        "wir nicht.",
        "We do not publish questions containing insults, threats or degrading language.",
    ),
    (
        "discrimination",
        "Diskriminierung",
        "Discrimination",
        "Keine Diskriminierung wegen Herkunft, Geschlecht, Religion, Behinderung, Alter oder "
        "sexueller Identität.",
        "No discrimination by origin, gender, religion, disability, age or sexual identity.",
    ),
    (
        "private-life",
        "Privatleben",
        "Private life",
        "Fragen zum Privatleben von Personen und persönliche Daten Dritter gehören nicht hierher.",
        "Questions about people's private lives and personal data of others do not belong here.",
    ),
    (
        "advertising",
        "Werbung",
        "Advertising",
        "Werbung für Produkte, Unternehmen oder Veranstaltungen veröffentlichen wir nicht.",
        "We do not publish advertising for products, companies or events.",
    ),
    (
        "mass-question",
        "Massenfragen",
        "Mass questions",
        "Gleichlautende Fragen vieler Personen oder Serienfragen fassen wir zusammen oder "
        "lehnen sie ab.",
        "Identical questions from many people or serial questions are merged or rejected.",
    ),
    (
        "several-topics",
        "Mehrere Themen",
        "Several topics",
        "Bitte stellen Sie eine Frage zu einem Thema; für ein weiteres Thema eine neue Frage.",
        "Please ask one question about one topic; ask another question for another topic.",
    ),
    (
        "unsourced-claim",
        "Unbelegte Tatsachenbehauptung",
        "Unsourced claim of fact",
        "Tatsachenbehauptungen brauchen eine überprüfbare Quelle.",
        "Claims of fact need a source that can be checked.",
    ),
    (
        "off-topic",
        "Kein Bezug zur Stadt",
        "Off-topic",
        "Fragen müssen die Stadt und die Aufgaben des Oberbürgermeisters betreffen.",
        "Questions must concern the town and the mayor's duties.",
    ),
)


# --- helpers ----------------------------------------------------------------------------


def _clean(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    return _CONTROL.sub("", value.replace("\r\n", "\n")).strip()


def _link(municipality: Municipality, path: str) -> str:
    return municipality_site_url(municipality).rstrip("/") + path


def _question_url(question: Question) -> str:
    return reverse("fragdenob:detail", args=[question.pk])


def _require(user: User, permission: str, municipality: Municipality) -> None:
    if getattr(user, "municipality_id", None) not in (None, municipality.pk) or not (
        user_can_anywhere(user=user, permission=permission)
    ):
        raise PermissionDenied()


def index_invalidate(*, municipality: Municipality) -> None:
    """Make every process rebuild its suggestion index of the municipality (after commit)."""

    def bump() -> None:
        key = selectors.index_version_key(municipality.pk)
        cache.add(key, 0, None)
        try:
            cache.incr(key)
        except ValueError:  # evicted between add and incr
            cache.set(key, 1, None)

    transaction.on_commit(bump)


# --- set-up ------------------------------------------------------------------------------


def codex_ensure(*, municipality: Municipality) -> int:
    """Give a municipality the default codex if it has none; returns how many were made."""
    if CodexRule.objects.filter(municipality=municipality).exists():
        return 0
    with transaction.atomic():
        for position, (key, title_de, title_en, text_de, text_en) in enumerate(DEFAULT_CODEX):
            CodexRule.objects.get_or_create(
                municipality=municipality,
                key=key,
                defaults={
                    "title_de": title_de,
                    "title_en": title_en,
                    "text_de": text_de,
                    "text_en": text_en,
                    "position": position,
                },
            )
    return len(DEFAULT_CODEX)


def process_ensure(*, municipality: Municipality) -> None:
    """Deploy the shipped question-to-the-mayor process for a municipality that has none."""
    if ProcessVersion.objects.filter(
        municipality=municipality, definition__key=PROCESS_KEY, is_default=True
    ).exists():
        return
    names = workflow.SHIPPED[PROCESS_KEY]
    workflow.process_deploy(
        municipality=municipality,
        files=[(name, (workflow.SHIPPED_DIR / name).read_bytes()) for name in names],
    )


def freeze_create(
    *,
    municipality: Municipality,
    user: User,
    starts_on: Any,
    ends_on: Any,
    reason: str,
) -> ElectionFreeze:
    """Close the dialogue for new questions between two days (inclusive)."""
    _require(user, MANAGE, municipality)
    reason = _clean(reason)
    errors: dict[str, list[Any]] = {}
    if not reason:
        errors["reason"] = [_("Say why the dialogue is closed.")]
    elif len(reason) > 300:
        errors["reason"] = [_("At most 300 characters.")]
    if starts_on is None or ends_on is None or ends_on < starts_on:
        errors["ends_on"] = [_("The last day must not be before the first day.")]
    if errors:
        raise ValidationFailed(fields=errors)
    with transaction.atomic():
        freeze = ElectionFreeze.objects.create(
            municipality=municipality, starts_on=starts_on, ends_on=ends_on, reason=reason
        )
        audit_record(
            municipality=municipality,
            action="fragdenob.freeze.created",
            actor=user,
            target=freeze,
            data={"starts_on": str(starts_on), "ends_on": str(ends_on)},
        )
    return freeze


def freeze_delete(*, freeze: ElectionFreeze, user: User) -> None:
    """Remove an election freeze."""
    _require(user, MANAGE, freeze.municipality)
    with transaction.atomic():
        audit_record(
            municipality=freeze.municipality,
            action="fragdenob.freeze.deleted",
            actor=user,
            target=freeze,
            data={"starts_on": str(freeze.starts_on), "ends_on": str(freeze.ends_on)},
        )
        freeze.delete()


# --- asking ------------------------------------------------------------------------------


def _texts_check(
    municipality: Municipality, title: Any, background: Any
) -> tuple[str, str, dict[str, list[Any]]]:
    title, background = _clean(title), _clean(background)
    errors: dict[str, list[Any]] = {}
    title_max = municipal_setting(municipality, limits.QUESTION_MAX)
    background_max = municipal_setting(municipality, limits.BACKGROUND_MAX)
    if not title:
        errors["title"] = [_("Please write your question.")]
    elif len(title) > title_max:
        errors["title"] = [
            _("At most %(max)d characters (you wrote %(count)d).")
            % {"max": title_max, "count": len(title)}
        ]
    if len(background) > background_max:
        errors["background"] = [
            _("At most %(max)d characters (you wrote %(count)d).")
            % {"max": background_max, "count": len(background)}
        ]
    return title, background, errors


def _choices_check(
    municipality: Municipality, topic: Any, district: Any, errors: dict[str, list[Any]]
) -> tuple[Topic | None, District | None]:
    topic_obj = (
        Topic.objects.filter(municipality=municipality, pk=topic, is_active=True).first()
        if isinstance(topic, int)
        else None
    )
    if topic_obj is None:
        errors["topic"] = [_("Choose a topic.")]
    district_obj = None
    if district is not None:
        district_obj = (
            District.objects.filter(municipality=municipality, pk=district).first()
            if isinstance(district, int)
            else None
        )
        if district_obj is None:
            errors["district"] = [_("Choose a district from the list.")]
    return topic_obj, district_obj


def asking_check(*, municipality: Municipality, user: Any, trust_level: int) -> None:
    """Raise why ``user`` may not ask right now (freeze, account, trust level)."""
    freeze = selectors.freeze_current(municipality=municipality)
    if freeze is not None:
        raise ApplicationError(
            _("No new questions are accepted until %(day)s: %(reason)s")
            % {"day": freeze.ends_on.strftime("%d.%m.%Y"), "reason": freeze.reason},
            code="election_freeze",
        )
    if (
        not getattr(user, "is_authenticated", False)
        or getattr(user, "municipality_id", None) != municipality.pk
        or not user.is_active
    ):
        raise PermissionDenied(_("Please sign in with your citizen account."))
    if user.email_verified_at is None:
        raise PermissionDenied(
            _("Please confirm your e-mail address before asking."), code="email_unverified"
        )
    required = municipal_setting(municipality, limits.TRUST_LEVEL)
    if trust_level < required:
        raise PermissionDenied(
            _("Asking the mayor needs a login of trust level %(level)s.")
            % {"level": TrustLevel(required).label},
            code="trust_level",
        )


def _rate_limit(municipality: Municipality, author: User, ip: str | None, now: datetime) -> None:
    per_day = municipal_setting(municipality, limits.PER_ACCOUNT_DAY)
    recent = Question.objects.filter(
        municipality=municipality, author=author, submitted_at__gte=now - timedelta(days=1)
    ).count()
    if recent >= per_day:
        raise RateLimited(
            _("You can ask at most %(count)d questions a day. Please try again tomorrow.")
            % {"count": per_day}
        )
    if ip:
        # A fixed one-hour window per address, shared by all web processes (the cache).
        key = f"fragdenob:ask:{municipality.pk}:{ip}:{int(now.timestamp()) // 3600}"
        cache.add(key, 0, 3600)
        if cache.incr(key) > municipal_setting(municipality, limits.PER_IP_HOUR):
            raise RateLimited()


def question_submit(
    *,
    municipality: Municipality,
    author: User,
    title: Any,
    background: Any = "",
    topic: Any = None,
    district: Any = None,
    trust_level: int = TrustLevel.BASIC,
    parent: Question | None = None,
    ip: str | None = None,
    now: datetime | None = None,
) -> Question:
    """Ask a question (or the one follow-up to ``parent``); it waits for moderation.

    Raises ``ApplicationError`` (code ``election_freeze``) during a freeze,
    ``PermissionDenied`` for an account that may not ask, ``ValidationFailed`` per field,
    ``RateLimited`` for bursts and ``Conflict`` for a second follow-up.
    """
    now = now or timezone.now()
    asking_check(municipality=municipality, user=author, trust_level=trust_level)
    title, background, errors = _texts_check(municipality, title, background)
    topic_obj: Topic | None
    if parent is not None:
        parent = Question.objects.select_related("topic", "district").get(pk=parent.pk)
        if parent.municipality_id != municipality.pk or parent.author_id != author.pk:
            raise NotFound()
        if parent.status not in Question.PUBLIC:
            raise Conflict(_("Only a published question can have a follow-up."))
        topic_obj, district_obj = parent.topic, parent.district
    else:
        topic_obj, district_obj = _choices_check(municipality, topic, district, errors)
    if errors:
        raise ValidationFailed(fields=errors)
    assert topic_obj is not None
    with transaction.atomic():
        _rate_limit(municipality, author, ip, now)
        try:
            with transaction.atomic():
                question = Question.objects.create(
                    municipality=municipality,
                    author=author,
                    title=title,
                    background=background,
                    topic=topic_obj,
                    district=district_obj,
                    parent=parent,
                    submitted_at=now,
                )
        except IntegrityError as error:
            raise Conflict(
                _("You have already asked a follow-up to this question."), code="follow_up_exists"
            ) from error
        Follow.objects.get_or_create(municipality=municipality, question=question, user=author)
        audit_record(
            municipality=municipality,
            action="fragdenob.question.submitted",
            actor=author,
            target=question,
            data={"parent": parent.pk if parent else None},
            ip=ip,
        )
    return question


def question_update(
    *,
    question: Question,
    author: User,
    title: Any,
    background: Any = "",
    topic: Any = None,
    district: Any = None,
) -> Question:
    """The author edits a question that is not published yet; it goes back to moderation."""
    municipality = question.municipality
    title, background, errors = _texts_check(municipality, title, background)
    if question.parent_id is None:
        topic_obj, district_obj = _choices_check(municipality, topic, district, errors)
    else:
        topic_obj, district_obj = question.topic, question.district
    if errors:
        raise ValidationFailed(fields=errors)
    with transaction.atomic():
        locked = Question.objects.select_for_update().get(pk=question.pk)
        if locked.author_id != author.pk:
            raise NotFound()
        if locked.status not in Question.EDITABLE:
            raise Conflict(_("A published question can no longer be changed."), code="not_editable")
        assert topic_obj is not None
        locked.title, locked.background = title, background
        locked.topic, locked.district = topic_obj, district_obj
        locked.status = Question.Status.PENDING
        locked.save(
            update_fields=["title", "background", "topic", "district", "status", "updated_at"]
        )
        audit_record(
            municipality=municipality,
            action="fragdenob.question.resubmitted",
            actor=author,
            target=locked,
        )
    return locked


# --- moderation --------------------------------------------------------------------------


def _moderation_locked(question: Question, moderator: User) -> Question:
    _require(moderator, MODERATE, question.municipality)
    locked = (
        Question.objects.select_for_update(of=("self",))
        .select_related("municipality", "author", "topic")
        .get(pk=question.pk)
    )
    if locked.status != Question.Status.PENDING:
        raise Conflict(
            _("This question is not waiting for moderation any more."), code="not_pending"
        )
    return locked


def _rule(question: Question, rule: Any, *, required: bool) -> CodexRule | None:
    if rule is None or rule == "":
        if required:
            raise ValidationFailed(fields={"rule": [_("Choose the rule of the codex.")]})
        return None
    found = (
        CodexRule.objects.filter(municipality_id=question.municipality_id, pk=rule).first()
        if isinstance(rule, int)
        else None
    )
    if found is None:
        raise ValidationFailed(fields={"rule": [_("Choose a rule of the codex.")]})
    return found


def _note(note: Any) -> str:
    text = _clean(note)
    if len(text) > NOTE_MAX_CHARS:
        raise ValidationFailed(
            fields={"note": [_("At most %(max)d characters.") % {"max": NOTE_MAX_CHARS}]}
        )
    return text


def _decision(
    question: Question,
    moderator: User,
    action: str,
    *,
    rule: CodexRule | None = None,
    note: str = "",
    data: dict[str, Any] | None = None,
) -> ModerationDecision:
    decision = ModerationDecision.objects.create(
        municipality_id=question.municipality_id,
        question=question,
        moderator=moderator,
        action=action,
        rule=rule,
        note=note,
    )
    audit_record(
        municipality=question.municipality,
        action=f"fragdenob.question.{action}",
        actor=moderator,
        target=question,
        data={"rule": rule.key if rule else None, **(data or {})},
    )
    if question.author is not None:
        path = _question_url(question) if question.is_public else reverse("fragdenob:mine")
        notify(
            recipient=question.author,
            event="fragdenob.moderated",
            key=f"decision-{decision.pk}",
            template="fragdenob_moderated",
            context={
                "action": action,
                "title": question.title,
                "rule_de": rule.title_de if rule else "",
                "rule_en": rule.title_en if rule else "",
                "note": note,
                "link": _link(question.municipality, path),
            },
            url=path,
        )
    return decision


def question_publish(
    *, question: Question, moderator: User, now: datetime | None = None
) -> Question:
    """Publish a question: its support phase starts, and so does the answering process."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _moderation_locked(question, moderator)
        days = municipal_setting(locked.municipality, limits.SUPPORT_DAYS)
        locked.status = Question.Status.PUBLISHED
        locked.published_at = now
        locked.support_until = now + timedelta(days=days)
        locked.save(update_fields=["status", "published_at", "support_until", "updated_at"])
        _decision(locked, moderator, ModerationDecision.Action.PUBLISH)
        process_ensure(municipality=locked.municipality)
        instance = workflow.instance_start(
            municipality=locked.municipality,
            process_key=PROCESS_KEY,
            business_object=locked,
            variables={"question_id": locked.pk, "title": locked.title[:200]},
            now=now,
        )
        locked.workflow_instance = instance
        locked.save(update_fields=["workflow_instance", "updated_at"])
        if locked.parent_id is not None:
            parent = Question.objects.get(pk=locked.parent_id)
            _followers_notify(parent, event="fragdenob.follow_up", extra={"follow_up": locked})
        index_invalidate(municipality=locked.municipality)
    return locked


def question_reject(*, question: Question, moderator: User, rule: Any, note: Any = "") -> Question:
    """Reject a question naming the codex rule it breaks; the author may rephrase it."""
    with transaction.atomic():
        locked = _moderation_locked(question, moderator)
        found = _rule(locked, rule, required=True)
        text = _note(note)
        locked.status = Question.Status.REJECTED
        locked.save(update_fields=["status", "updated_at"])
        _decision(locked, moderator, ModerationDecision.Action.REJECT, rule=found, note=text)
    return locked


def question_rephrase_request(
    *, question: Question, moderator: User, note: Any, rule: Any = None
) -> Question:
    """Ask the author to rephrase (the note says what); the question waits for the edit."""
    with transaction.atomic():
        locked = _moderation_locked(question, moderator)
        found = _rule(locked, rule, required=False)
        text = _note(note)
        if not text:
            raise ValidationFailed(fields={"note": [_("Tell the author what to change.")]})
        locked.status = Question.Status.REPHRASE
        locked.save(update_fields=["status", "updated_at"])
        _decision(locked, moderator, ModerationDecision.Action.REPHRASE, rule=found, note=text)
    return locked


def question_merge(
    *, question: Question, into: Question, moderator: User, note: Any = ""
) -> Question:
    """Merge a pending question into a published one; its author follows that one."""
    with transaction.atomic():
        locked = _moderation_locked(question, moderator)
        target = Question.objects.filter(
            pk=into.pk, municipality_id=locked.municipality_id, status__in=Question.PUBLIC
        ).first()
        if target is None:
            raise ValidationFailed(
                fields={"into": [_("Choose a published question to merge into.")]}
            )
        text = _note(note)
        locked.status = Question.Status.MERGED
        locked.merged_into = target
        locked.save(update_fields=["status", "merged_into", "updated_at"])
        if locked.author is not None:
            Follow.objects.get_or_create(
                municipality_id=locked.municipality_id, question=target, user=locked.author
            )
        _decision(
            locked, moderator, ModerationDecision.Action.MERGE, note=text, data={"into": target.pk}
        )
    return locked


# --- supporting and following ------------------------------------------------------------


def _fresh(question: Question) -> Question:
    """The question as stored now (a page may have loaded it before a moderator acted)."""
    return Question.objects.get(pk=question.pk)


def support_add(*, question: Question, user: User, now: datetime | None = None) -> Support:
    """Back a published question during its support phase; once per account."""
    now = now or timezone.now()
    if getattr(user, "municipality_id", None) != question.municipality_id or not user.is_active:
        raise PermissionDenied()
    question = _fresh(question)
    if question.status not in Question.PUBLIC:
        raise Conflict(_("Only published questions can be supported."), code="not_published")
    if question.support_until is None or now > question.support_until:
        raise Conflict(_("The support phase of this question has ended."), code="support_ended")
    if question.author_id == user.pk:
        raise Conflict(_("You cannot support your own question."), code="own_question")
    try:
        with transaction.atomic():
            support = Support.objects.create(
                municipality_id=question.municipality_id, question=question, user=user
            )
            Follow.objects.get_or_create(
                municipality_id=question.municipality_id, question=question, user=user
            )
    except IntegrityError as error:
        raise Conflict(_("You already support this question."), code="already_supported") from error
    return support


def support_withdraw(*, question: Question, user: User, now: datetime | None = None) -> None:
    """Take one's support back while the support phase runs."""
    now = now or timezone.now()
    if question.support_until is None or now > question.support_until:
        raise Conflict(_("The support phase of this question has ended."), code="support_ended")
    deleted, _rows = Support.objects.filter(question=question, user=user).delete()
    if not deleted:
        raise Conflict(_("You do not support this question."), code="not_supported")


def follow_add(*, question: Question, user: User) -> Follow:
    """Hear about the question's answer and follow-up."""
    if getattr(user, "municipality_id", None) != question.municipality_id:
        raise PermissionDenied()
    question = _fresh(question)
    if question.status not in Question.PUBLIC:
        raise Conflict(_("Only published questions can be followed."), code="not_published")
    follow, _created = Follow.objects.get_or_create(
        municipality_id=question.municipality_id, question=question, user=user
    )
    return follow


def follow_remove(*, question: Question, user: User) -> int:
    """Stop hearing about a question; returns how many follows ended (0 or 1)."""
    deleted, _rows = Follow.objects.filter(question=question, user=user).delete()
    return int(deleted)


def unfollow_token(follow: Follow) -> str:
    """The signed token of the one-click unfollow link in notifications."""
    return signing.dumps({"f": follow.pk, "u": follow.user_id}, salt=UNFOLLOW_SALT)


def unfollow_token_valid(token: str) -> bool:
    """Whether ``token`` is a genuine unfollow token (it may name a follow already gone)."""
    try:
        signing.loads(token[:500], salt=UNFOLLOW_SALT)
    except signing.BadSignature:
        return False
    return True


def unfollow_by_token(*, municipality: Municipality, token: str) -> Question | None:
    """End the follow a token names; None when it is already gone. A forged or foreign
    token raises ``NotFound``."""
    try:
        data = signing.loads(token[:500], salt=UNFOLLOW_SALT)
    except signing.BadSignature as error:
        raise NotFound() from error
    if not isinstance(data, dict) or not isinstance(data.get("f"), int):
        raise NotFound()
    user_id = data.get("u")
    if not isinstance(user_id, int):
        raise NotFound()
    follow = Follow.objects.select_related("question").filter(pk=data["f"], user_id=user_id).first()
    if follow is None:
        return None
    if follow.municipality_id != municipality.pk:
        raise NotFound()
    question = follow.question
    follow.delete()
    return question


def _followers_notify(question: Question, *, event: str, extra: dict[str, Any]) -> None:
    """Tell everyone following ``question`` (as they chose: now or in their digest)."""
    path = _question_url(question)
    follow_up = extra.get("follow_up")
    for follow in Follow.objects.filter(question=question).select_related("user"):
        unfollow = reverse("fragdenob:unfollow", args=[unfollow_token(follow)])
        notify(
            recipient=follow.user,
            event=event,
            key=f"question-{question.pk}" + (f"-{follow_up.pk}" if follow_up else ""),
            template=event.replace(".", "_"),
            context={
                "title": question.title,
                "answer": question.answer,
                "follow_up": follow_up.title if follow_up else "",
                "link": _link(question.municipality, path),
                "unfollow": _link(question.municipality, unfollow),
            },
            digestible=True,
            url=path,
        )


# --- answering ---------------------------------------------------------------------------


def answer_publish(
    *,
    question: Question,
    answer: Any,
    standard: bool = False,
    now: datetime | None = None,
) -> Question:
    """Publish the approved answer (called by the process); followers are told.

    Publishing the same answer twice (a retried handler) changes nothing.
    """
    now = now or timezone.now()
    text = _clean(answer)
    if not text or len(text) > ANSWER_MAX_CHARS:
        raise ValidationFailed(fields={"answer": [_("The answer is empty or too long.")]})
    with transaction.atomic():
        locked = Question.objects.select_for_update().get(pk=question.pk)
        if locked.status == Question.Status.ANSWERED and locked.answer == text:
            return locked
        if locked.status not in Question.PUBLIC:
            raise Conflict(_("Only a published question can be answered."))
        locked.answer = text
        locked.answered_at = now
        locked.answer_is_standard = bool(standard)
        locked.status = Question.Status.ANSWERED
        locked.save(
            update_fields=["answer", "answered_at", "answer_is_standard", "status", "updated_at"]
        )
        audit_record(
            municipality=locked.municipality,
            action="fragdenob.question.answered",
            target=locked,
            data={"standard": locked.answer_is_standard},
        )
        transaction.on_commit(
            partial(_answer_notify, locked.pk),
        )
    return locked


def _answer_notify(question_id: int) -> None:
    question = Question.objects.select_related("municipality").get(pk=question_id)
    with transaction.atomic():
        _followers_notify(question, event="fragdenob.answered", extra={})


def answer_standard_mark(*, question: Question, user: User, standard: bool) -> Question:
    """Mark an answer as a standard reply (or not): standard replies don't count as answers."""
    _require(user, MANAGE, question.municipality)
    with transaction.atomic():
        locked = Question.objects.select_for_update().get(pk=question.pk)
        if locked.status != Question.Status.ANSWERED:
            raise Conflict(_("Only an answered question has a reply to mark."))
        locked.answer_is_standard = bool(standard)
        locked.save(update_fields=["answer_is_standard", "updated_at"])
        audit_record(
            municipality=locked.municipality,
            action="fragdenob.answer.standard_marked",
            actor=user,
            target=locked,
            data={"standard": locked.answer_is_standard},
        )
    return locked
