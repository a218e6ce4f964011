"""The starting organisation of a mid-size Baden-Württemberg city, and default roles.

Municipalities rename, add and move units afterwards; ``organisation_defaults_ensure``
only creates what is missing (matched by short name or role key).
"""

from dataclasses import dataclass

from rathaus.organisation.models import OrgUnit


@dataclass(frozen=True)
class UnitSpec:
    code: str
    parent: str | None
    name_de: str
    name_en: str
    kind: str
    location: str = ""


@dataclass(frozen=True)
class RoleSpec:
    key: str
    name_de: str
    name_en: str
    description: str
    permissions: tuple[str, ...]
    is_privileged: bool = False


ROOT_CODE = "SV"

UNITS: tuple[UnitSpec, ...] = (
    UnitSpec(
        ROOT_CODE, None, "Stadtverwaltung", "City administration", OrgUnit.Kind.ADMINISTRATION
    ),
    UnitSpec(
        "OB",
        ROOT_CODE,
        "OB-Büro",
        "Mayor's office",
        OrgUnit.Kind.STABSSTELLE,
        "Rathaus, 1. OG",
    ),
    UnitSpec(
        "FB 1",
        ROOT_CODE,
        "Fachbereich Bürgerdienste",
        "Department of Citizen Services",
        OrgUnit.Kind.FACHBEREICH,
    ),
    UnitSpec(
        "BB",
        "FB 1",
        "Bürgerbüro",
        "Citizens' office",
        OrgUnit.Kind.BUERGERBUERO,
        "Rathaus, Erdgeschoss",
    ),
    UnitSpec("STA", "FB 1", "Standesamt", "Registry office", OrgUnit.Kind.AMT, "Rathaus, 2. OG"),
    UnitSpec(
        "FB 2", ROOT_CODE, "Fachbereich Finanzen", "Department of Finance", OrgUnit.Kind.FACHBEREICH
    ),
    UnitSpec("KÄM", "FB 2", "Kämmerei", "Treasury", OrgUnit.Kind.AMT),
    UnitSpec("KASSE", "FB 2", "Stadtkasse", "City cash office", OrgUnit.Kind.AMT),
    UnitSpec(
        "FB 3", ROOT_CODE, "Fachbereich Bauen", "Department of Building", OrgUnit.Kind.FACHBEREICH
    ),
    UnitSpec(
        "FB 4",
        ROOT_CODE,
        "Fachbereich Organisation und Personal",
        "Department of Organisation and Human Resources",
        OrgUnit.Kind.FACHBEREICH,
    ),
)

# Permissions are named "app_label.codename". Those of apps not installed yet are skipped
# with a warning; rerunning after an app arrives adds them. Extend the lists as apps land.
ROLES: tuple[RoleSpec, ...] = (
    RoleSpec(
        "sachbearbeitung",
        "Sachbearbeitung",
        "Clerk",
        "Bearbeitet die Vorgänge der Organisationseinheit.",
        (
            "organisation.view_orgunit",
            "workflow.work_on_tasks",
            "postfach.send_message",
            "applications.handle_application",
            # Bürgerbüro counters and the ID document pickup terminal.
            "buergerbuero.serve_counter",
            "idpickup.manage_idorder",
            "idpickup.operate_terminal",
            # Incoming e-invoices of the unit: read them, confirm them factually correct.
            "einvoice.receive_invoice",
            "einvoice.approve_invoice",
        ),
    ),
    RoleSpec(
        "leitung",
        "Leitung",
        "Head of unit",
        "Leitet die Organisationseinheit und sieht, wer welche Rolle hat.",
        (
            "organisation.view_orgunit",
            "organisation.view_rolegrant",
            "buergerbuero.view_statistics",
            "buergerbuero.manage_office",
        ),
    ),
    RoleSpec(
        "redaktion",
        "Redaktion",
        "Editor",
        "Pflegt Impressum, Datenschutzerklärung und Erklärung zur Barrierefreiheit.",
        (
            "legal.change_legalpage",
            "legal.view_legalpage",
            "assistant.manage_assistant",
            "assistant.view_assistant_statistics",
        ),
    ),
    RoleSpec(
        "moderation",
        "Moderation",
        "Moderator",
        "Prüft Fragen an den Oberbürgermeister nach dem Moderationskodex vor der Veröffentlichung.",
        ("fragdenob.moderate_questions",),
    ),
    RoleSpec(
        "buero-ob",
        "Büro OB",
        "Mayor's office",
        "Leitet Fragen an den Oberbürgermeister an die Fachbereiche weiter und pflegt den Dialog.",
        ("fragdenob.moderate_questions", "fragdenob.manage_dialogue", "workflow.work_on_tasks"),
    ),
    RoleSpec(
        "buergermeister",
        "Oberbürgermeister",
        "Mayor",
        "Gibt Antworten auf Fragen an den Oberbürgermeister frei.",
        ("fragdenob.manage_dialogue", "workflow.work_on_tasks"),
    ),
    RoleSpec(
        "rechnungswesen",
        "Rechnungswesen",
        "Accounting",
        "Prüft E-Rechnungen rechnerisch, exportiert sie an die Buchhaltung, pflegt Leitweg-IDs.",
        (
            "einvoice.receive_invoice",
            "einvoice.approve_invoice",
            "einvoice.export_invoice",
            "einvoice.manage_einvoice",
            "workflow.work_on_tasks",
        ),
    ),
    RoleSpec(
        "verkehrstechnik",
        "Verkehrstechnik",
        "Traffic engineering",
        "Pflegt Lichtsignalanlagen und Signalpläne und bewertet sie in der Simulation.",
        (
            "traffic.view_traffic",
            "traffic.manage_signals",
            "traffic.run_simulations",
        ),
    ),
    RoleSpec(
        "mobilitaet",
        "Mobilität",
        "Mobility",
        "Betreibt Parkeinrichtungen, Parkleitanzeigen und öffentliche Ladestationen.",
        (
            "parking.manage_parking",
            "parking.check_in_reservations",
            "charging.operate_stations",
            "charging.export_records",
        ),
    ),
    RoleSpec(
        "verkehrsplanung-freigabe",
        "Freigabe Signalpläne",
        "Signal plan approval",
        "Gibt Signalpläne frei (zweite Person nach der Verkehrstechnik).",
        ("traffic.view_traffic", "traffic.approve_plans"),
    ),
    RoleSpec(
        "revision",
        "Revision",
        "Auditor",
        "Prüft das Protokoll sicherheitsrelevanter Vorgänge und exportiert es.",
        ("audit.view_auditevent", "audit.export_auditevent"),
        is_privileged=True,
    ),
    RoleSpec(
        "administration",
        "Administration",
        "Administrator",
        "Pflegt Gemeindedaten, Organisationseinheiten und Rollen und vergibt Rollen.",
        (
            "organisation.manage_units",
            "organisation.manage_roles",
            "core.change_municipality",
            "workflow.manage_processes",
            "workflow.monitor_instances",
            "applications.manage_forms",
        ),
        is_privileged=True,
    ),
)
