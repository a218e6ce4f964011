"""Tables of the service assistant: lexicon, building model, devices, anonymous statistics."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from rathaus.core.models import TenantModel
from rathaus.core.sealed import SealedCharField

MANAGE_ASSISTANT = "assistant.manage_assistant"
VIEW_STATISTICS = "assistant.view_assistant_statistics"
KEY_VALIDATOR = RegexValidator(
    r"^[a-z0-9][a-z0-9_-]{0,62}$", _("Use lower-case letters, digits, - and _ (at most 63).")
)


class LexiconEntry(TenantModel):
    """An editor's synonym rule, merged on top of the shipped lexicon of the engine."""

    terms = models.CharField(
        _("what citizens say"),
        max_length=300,
        help_text=_("One or more words or phrases, separated by commas."),
    )
    expansions = models.CharField(
        _("what it means"),
        max_length=300,
        help_text=_("Terms of the catalogue, separated by commas."),
    )
    two_way = models.BooleanField(
        _("both directions"),
        default=False,
        help_text=_("Also expand the terms of the catalogue to what citizens say."),
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("lexicon entry")
        verbose_name_plural = _("lexicon entries")
        ordering = ["terms", "pk"]
        permissions = [
            ("manage_assistant", _("Can manage the service assistant")),
            ("view_assistant_statistics", _("Can view the statistics of the service assistant")),
        ]

    def __str__(self) -> str:
        return f"{self.terms} => {self.expansions}"


class Building(TenantModel):
    """The walkable model of one catalogue location."""

    location = models.OneToOneField(
        "catalog.Location",
        on_delete=models.CASCADE,
        related_name="assistant_building",
        verbose_name=_("location"),
    )
    note_de = models.TextField(_("note (German)"), blank=True, max_length=2000)
    note_en = models.TextField(_("note (English)"), blank=True, max_length=2000)

    class Meta:
        verbose_name = _("building")
        verbose_name_plural = _("buildings")
        ordering = ["location__name_de", "pk"]

    def __str__(self) -> str:
        return str(self.location)


class Floor(TenantModel):
    building = models.ForeignKey(Building, on_delete=models.CASCADE, related_name="floors")
    level = models.SmallIntegerField(
        _("level"), validators=[MinValueValidator(-10), MaxValueValidator(100)]
    )
    name_de = models.CharField(_("name (German)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("floor")
        verbose_name_plural = _("floors")
        ordering = ["building_id", "level"]
        constraints = [
            models.UniqueConstraint("building", "level", name="assistant_floor_level_unique")
        ]

    def __str__(self) -> str:
        return self.name_de


class Node(TenantModel):
    """A place in the building: a room, a counter, a lift, the foot of a staircase, ..."""

    class Kind(models.TextChoices):
        ROOM = "room", _("room")
        COUNTER = "counter", _("counter")
        WAITING = "waiting", _("waiting area")
        TOILET = "toilet", _("toilet")
        LIFT = "lift", _("lift")
        STAIRS = "stairs", _("stairs")
        RAMP = "ramp", _("ramp")
        DOOR = "door", _("door")
        EXIT = "exit", _("exit")
        ENTRANCE = "entrance", pgettext_lazy("building", "entrance")
        CORRIDOR = "corridor", _("corridor")

    floor = models.ForeignKey(Floor, on_delete=models.CASCADE, related_name="nodes")
    key = models.CharField(_("key"), max_length=63, validators=[KEY_VALIDATOR])
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    name_de = models.CharField(_("name (German)"), max_length=120, blank=True)
    name_en = models.CharField(_("name (English)"), max_length=120, blank=True)
    # The room number as signs and the Bürgerbüro's counters name it ("E.12").
    room = models.CharField(_("room number"), max_length=40, blank=True)
    # Metres on the floor plan, origin top left.
    x = models.FloatField(_("x (m)"), validators=[MinValueValidator(0), MaxValueValidator(2000)])
    y = models.FloatField(_("y (m)"), validators=[MinValueValidator(0), MaxValueValidator(2000)])

    class Meta:
        verbose_name = _("place")
        verbose_name_plural = _("places")
        ordering = ["floor_id", "key"]
        constraints = [models.UniqueConstraint("floor", "key", name="assistant_node_key_unique")]

    def __str__(self) -> str:
        return self.name_de or self.room or self.key


class Edge(TenantModel):
    """A walkable connection between two places, usable in both directions."""

    class Kind(models.TextChoices):
        WALK = "walk", _("corridor")
        DOOR = "door", _("door")
        STAIRS = "stairs", _("stairs")
        LIFT = "lift", _("lift")
        RAMP = "ramp", _("ramp")

    building = models.ForeignKey(Building, on_delete=models.CASCADE, related_name="edges")
    start = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="+")
    end = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.WALK)
    distance = models.FloatField(
        _("distance (m)"), validators=[MinValueValidator(0), MaxValueValidator(5000)]
    )
    steps = models.PositiveSmallIntegerField(_("steps"), default=0)
    width_cm = models.PositiveSmallIntegerField(
        _("clear width (cm)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(30), MaxValueValidator(1000)],
    )

    class Meta:
        verbose_name = _("connection")
        verbose_name_plural = _("connections")
        ordering = ["building_id", "pk"]
        constraints = [
            models.UniqueConstraint("start", "end", name="assistant_edge_once"),
            models.CheckConstraint(
                condition=~models.Q(start=models.F("end")), name="assistant_edge_not_loop"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.start_id} - {self.end_id}"


class Device(TenantModel):
    """A kiosk or robot that uses the JSON API with its own key."""

    class Kind(models.TextChoices):
        KIOSK = "kiosk", _("kiosk")
        ROBOT = "robot", _("robot")
        PHONE = "phone", _("phone system")

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    key_id = models.CharField(_("key id"), max_length=40, unique=True, editable=False)
    # The shared HMAC secret: the server must know it to check signatures, so it is kept
    # sealed (like a TOTP seed, ADR 0024), shown once on creation and replaced by rotation.
    secret = SealedCharField(max_length=100, editable=False)
    location = models.ForeignKey(
        "catalog.Location",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("location"),
    )
    position = models.ForeignKey(
        Node,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("standing place"),
    )
    can_use_stairs = models.BooleanField(_("can use stairs"), default=False)
    can_use_lifts = models.BooleanField(_("can use lifts"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True)

    class Meta:
        verbose_name = _("device")
        verbose_name_plural = _("devices")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class DeviceNonce(models.Model):
    """A nonce a device has used: a second request with it is a replay."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="+")
    nonce = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint("device", "nonce", name="assistant_nonce_once"),
        ]

    def __str__(self) -> str:
        return self.nonce


class QuestionStat(TenantModel):
    """How often a question (reduced to its folded content words) was asked on one day.

    No person, address, time of day or device is kept: only the words, the channel, the
    language, the best answer and its score, counted per day.
    """

    class Channel(models.TextChoices):
        KIOSK = "kiosk", _("kiosk")
        ROBOT = "robot", _("robot")
        WEB = "web", _("web")
        PHONE = "phone", _("phone")
        API = "api", _("API")

    day = models.DateField(_("day"))
    channel = models.CharField(
        pgettext_lazy("question statistics", "channel"), max_length=10, choices=Channel.choices
    )
    language = models.CharField(_("language"), max_length=5)
    words = models.CharField(_("question words"), max_length=200)
    top_service = models.ForeignKey(
        "catalog.Service", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    top_score = models.FloatField(default=0)
    answered = models.BooleanField(default=False)
    count = models.PositiveIntegerField(default=0)
    helpful = models.PositiveIntegerField(default=0)
    not_helpful = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("question statistic")
        verbose_name_plural = _("question statistics")
        ordering = ["-day", "-count"]
        constraints = [
            models.UniqueConstraint(
                "municipality",
                "day",
                "channel",
                "language",
                "words",
                name="assistant_questionstat_once",
            )
        ]
