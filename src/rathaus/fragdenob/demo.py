"""Demo data of Frag den OB: topics, districts, the codex, the roles of the dialogue
(moderation, mayor's office, mayor) with one demo account each, and a few questions.

Loaded idempotently by ``rathaus load_demo`` (after the demo accounts exist).
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from rathaus.accounts.models import User
from rathaus.accounts.services import user_create
from rathaus.core.models import Municipality
from rathaus.fragdenob import services
from rathaus.fragdenob.models import District, Question, Topic
from rathaus.organisation.models import OrgUnit, Role, RoleGrant
from rathaus.organisation.services import role_create, role_grant
from rathaus.workflow import services as workflow

DEMO_PASSWORD = "rathaus-demo-2026"  # noqa: S105 - the published demo password

TOPICS = (
    ("verkehr", "Verkehr", "Traffic"),
    ("schule-kita", "Schule und Kita", "Schools and childcare"),
    ("bauen-wohnen", "Bauen und Wohnen", "Building and housing"),
    ("umwelt", "Umwelt und Klima", "Environment and climate"),
    ("kultur-sport", "Kultur und Sport", "Culture and sport"),
    ("verwaltung", "Verwaltung und Finanzen", "Administration and finance"),
)
DISTRICTS = (
    ("innenstadt", "Innenstadt"),
    ("nordstadt", "Nordstadt"),
    ("suedstadt", "Südstadt"),
    ("weststadt", "Weststadt"),
)
ROLES = (
    (
        "moderation",
        "Moderation Frag den OB",
        "Moderation (ask the mayor)",
        ("fragdenob.moderate_questions",),
    ),
    (
        "buero-ob",
        "Büro OB",
        "Mayor's office",
        (
            "fragdenob.moderate_questions",
            "fragdenob.manage_dialogue",
            "workflow.work_on_tasks",
        ),
    ),
    (
        "buergermeister",
        "Oberbürgermeister/in",
        "Mayor",
        ("fragdenob.manage_dialogue", "workflow.work_on_tasks"),
    ),
)
PEOPLE = (
    ("moderation", "Mona", "Moderatorin", "moderation"),
    ("buero-ob", "Otto", "Büroleiter", "buero-ob"),
    ("ob", "Olga", "Oberbürgermeisterin", "buergermeister"),
)
QUESTIONS = (
    (
        "verkehr",
        "innenstadt",
        "Wann wird der Radweg in der Bahnhofstraße durchgehend befahrbar?",
        "Zwischen Marktplatz und Bahnhof endet der Radweg zweimal abrupt.",
        "Der Lückenschluss ist für das Frühjahr 2027 geplant; die Ausschreibung läuft.",
    ),
    (
        "schule-kita",
        "nordstadt",
        "Wie viele Kita-Plätze fehlen in der Nordstadt und wann entsteht die neue Kita?",
        "",
        "",
    ),
    (
        "umwelt",
        None,
        "Plant die Stadt mehr Bäume und Schattenplätze an Spielplätzen?",
        "Im Sommer 2026 waren viele Spielplätze mittags zu heiß zum Spielen.",
        "",
    ),
    (
        "kultur-sport",
        "suedstadt",
        "Wird das Hallenbad Süd nach der Sanierung wieder für Vereine geöffnet?",
        "",
        "",
    ),
)


def _staff(municipality: Municipality, local: str, first: str, last: str) -> User:
    domain = (municipality.email or f"{municipality.slug}.example").split("@")[-1]
    email = f"{local}@{domain}"
    user = User.objects.filter(municipality=municipality, email__iexact=email).first()
    if user is None:
        user = user_create(
            municipality=municipality,
            email=email,
            password=DEMO_PASSWORD,
            first_name=first,
            last_name=last,
            is_staff=True,
        )
        user.email_verified_at = timezone.now()
        user.save(update_fields=["email_verified_at"])
    return user


def fragdenob_demo_load(*, municipality: Municipality) -> None:
    """Topics, districts, codex, roles and accounts, and four questions (one answered)."""
    with transaction.atomic():
        for position, (slug, name_de, name_en) in enumerate(TOPICS):
            Topic.objects.get_or_create(
                municipality=municipality,
                slug=slug,
                defaults={"name_de": name_de, "name_en": name_en, "position": position},
            )
        for slug, name in DISTRICTS:
            District.objects.get_or_create(
                municipality=municipality, slug=slug, defaults={"name": name}
            )
        services.codex_ensure(municipality=municipality)
        office_unit = OrgUnit.objects.filter(municipality=municipality, code="OB").first()
        people: dict[str, User] = {}
        for key, name_de, name_en, permissions in ROLES:
            role = Role.objects.filter(municipality=municipality, key=key).first()
            if role is None:
                role = role_create(
                    actor=None,
                    municipality=municipality,
                    key=key,
                    name_de=name_de,
                    name_en=name_en,
                    permissions=permissions,
                )
        for local, first, last, role_key in PEOPLE:
            user = _staff(municipality, local, first, last)
            people[role_key] = user
            role = Role.objects.get(municipality=municipality, key=role_key)
            if (
                office_unit is not None
                and not RoleGrant.objects.filter(
                    user=user, role=role, org_unit=office_unit
                ).exists()
            ):
                role_grant(granted_by=None, user=user, role=role, org_unit=office_unit)
        citizen = User.objects.filter(
            municipality=municipality, is_staff=False, email_verified_at__isnull=False
        ).first()
        if citizen is None or Question.objects.filter(municipality=municipality).exists():
            return
        start = timezone.now() - timedelta(days=40)
        for number, (topic, district, title, background, answer) in enumerate(QUESTIONS):
            moment = start + timedelta(days=number * 5)
            question = services.question_submit(
                municipality=municipality,
                author=citizen,
                title=title,
                background=background,
                topic=Topic.objects.get(municipality=municipality, slug=topic).pk,
                district=District.objects.get(municipality=municipality, slug=district).pk
                if district
                else None,
                now=moment,
            )
            question = services.question_publish(
                question=question, moderator=people["moderation"], now=moment + timedelta(hours=3)
            )
            if answer:
                # The demo skips the office's and the mayor's tasks for this one.
                services.answer_publish(
                    question=question, answer=answer, now=moment + timedelta(days=9)
                )
                assert question.workflow_instance is not None
                workflow.instance_cancel(
                    instance=question.workflow_instance,
                    user=None,
                    reason="Demo: answered without the process.",
                )
