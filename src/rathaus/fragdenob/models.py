"""Frag den OB: questions of citizens to the mayor, their moderation, supporters and answers.

A ``Question`` is asked by a registered citizen, checked by a moderator against the
municipality's published ``CodexRule``\\ s (every decision is a ``ModerationDecision``),
published, supported (``Support``, one per account) during its support phase, answered
through the ``mayor_question`` process and followed (``Follow``) by people who want to
hear about it. An ``ElectionFreeze`` closes the dialogue for new questions before an
election (neutrality duty). Texts are plain text: templates escape them on output.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from rathaus.core.models import TenantModel

MODERATE = "fragdenob.moderate_questions"
MANAGE = "fragdenob.manage_dialogue"


class Topic(TenantModel):
    """A subject area a question belongs to (traffic, schools, ...)."""

    slug = models.SlugField(_("short name"), max_length=60)
    name_de = models.CharField(_("name (German)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("topic")
        verbose_name_plural = _("topics")
        ordering = ["position", "name_de"]
        constraints = [
            models.UniqueConstraint("municipality", "slug", name="fragdenob_topic_slug_unique")
        ]

    def __str__(self) -> str:
        return self.name_de


class District(TenantModel):
    """A part of town a question may concern."""

    slug = models.SlugField(_("short name"), max_length=60)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        verbose_name = _("district")
        verbose_name_plural = _("districts")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint("municipality", "slug", name="fragdenob_district_slug_unique")
        ]

    def __str__(self) -> str:
        return self.name


class CodexRule(TenantModel):
    """One rule of the moderation codex; a rejection names the rule it broke."""

    key = models.SlugField(_("key"), max_length=40)
    title_de = models.CharField(_("title (German)"), max_length=120)
    title_en = models.CharField(_("title (English)"), max_length=120)
    text_de = models.TextField(_("explanation (German)"), max_length=1000)
    text_en = models.TextField(_("explanation (English)"), max_length=1000)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("in force"), default=True)

    class Meta:
        verbose_name = _("codex rule")
        verbose_name_plural = _("codex rules")
        ordering = ["position", "key"]
        constraints = [
            models.UniqueConstraint("municipality", "key", name="fragdenob_codex_key_unique")
        ]

    def __str__(self) -> str:
        return self.key


class Question(TenantModel):
    """A question to the mayor, from submission to its answer."""

    class Status(models.TextChoices):
        # A context of their own: other apps use "rejected" etc. in other senses.
        PENDING = "pending", pgettext_lazy("question status", "awaiting moderation")
        REPHRASE = "rephrase", pgettext_lazy("question status", "rephrasing requested")
        REJECTED = "rejected", pgettext_lazy("question status", "rejected")
        PUBLISHED = "published", pgettext_lazy("question status", "published")
        ANSWERED = "answered", pgettext_lazy("question status", "answered")
        MERGED = "merged", pgettext_lazy("question status", "merged into another question")

    PUBLIC = (Status.PUBLISHED, Status.ANSWERED)
    # The author may change the text only while the moderators have not published it.
    EDITABLE = (Status.PENDING, Status.REPHRASE, Status.REJECTED)

    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("asked by"),
    )
    title = models.CharField(_("question"), max_length=1000)
    background = models.TextField(_("background"), blank=True, max_length=5000)
    topic = models.ForeignKey(
        Topic, on_delete=models.PROTECT, related_name="questions", verbose_name=_("topic")
    )
    district = models.ForeignKey(
        District,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="questions",
        verbose_name=_("district"),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    # A follow-up question refers to the question it follows; one per question.
    parent = models.ForeignKey(
        "self",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="follow_ups",
        verbose_name=_("follow-up to"),
    )
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="merged",
        verbose_name=_("merged into"),
    )
    submitted_at = models.DateTimeField(_("submitted at"))
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    support_until = models.DateTimeField(_("support phase ends"), null=True, blank=True)
    answer = models.TextField(_("answer"), blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    # A standard reply (a form letter, a reference to elsewhere) is no answer in the figures.
    answer_is_standard = models.BooleanField(_("standard reply"), default=False)
    workflow_instance = models.ForeignKey(
        "workflow.ProcessInstance",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        ordering = ["-published_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["parent"],
                condition=Q(parent__isnull=False),
                name="fragdenob_one_follow_up",
            ),
        ]
        indexes = [
            models.Index(fields=["municipality", "status", "published_at"]),
            models.Index(fields=["author", "submitted_at"]),
        ]
        permissions = [
            ("moderate_questions", "Can moderate questions to the mayor"),
            ("manage_dialogue", "Can manage the mayor's dialogue (freezes, standard replies)"),
        ]

    def __str__(self) -> str:
        return self.title[:60]

    @property
    def is_public(self) -> bool:
        return self.status in self.PUBLIC


class ModerationDecision(TenantModel):
    """The moderation log: who decided what about a question, and why."""

    class Action(models.TextChoices):
        PUBLISH = "publish", pgettext_lazy("moderation decision", "published")
        REJECT = "reject", pgettext_lazy("moderation decision", "rejected")
        REPHRASE = "rephrase", pgettext_lazy("moderation decision", "rephrasing requested")
        MERGE = "merge", pgettext_lazy("moderation decision", "merged")

    # Kept when an unpublished question is deleted: the public counts by reason stay true.
    question = models.ForeignKey(
        Question, on_delete=models.SET_NULL, null=True, related_name="decisions"
    )
    moderator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    action = models.CharField(_("decision"), max_length=10, choices=Action.choices)
    rule = models.ForeignKey(
        CodexRule,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="decisions",
        verbose_name=_("codex rule"),
    )
    note = models.TextField(_("note to the author"), blank=True, max_length=2000)

    class Meta:
        verbose_name = _("moderation decision")
        verbose_name_plural = _("moderation decisions")
        ordering = ["-created_at", "-pk"]


class Support(TenantModel):
    """A citizen backs a published question (one per account)."""

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="supports")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint("question", "user", name="fragdenob_support_once"),
        ]


class Follow(TenantModel):
    """Someone who wants to hear about a question's publication, answer and follow-up."""

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="follows")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint("question", "user", name="fragdenob_follow_once"),
        ]


class ElectionFreeze(TenantModel):
    """Days (inclusive, Europe/Berlin) on which no new questions are accepted."""

    starts_on = models.DateField(_("first day"))
    ends_on = models.DateField(_("last day"))
    reason = models.CharField(_("reason shown to citizens"), max_length=300)

    class Meta:
        verbose_name = _("election freeze")
        verbose_name_plural = _("election freezes")
        ordering = ["-starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")),
                name="fragdenob_freeze_order",
            )
        ]

    def __str__(self) -> str:
        return f"{self.starts_on} to {self.ends_on}"
