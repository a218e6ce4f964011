from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from rathaus.demo.services import DEMO_PASSWORD, DEMO_TOTP_SECRET, demo_load


class Command(BaseCommand):
    help = "Load the demo municipalities Musterstadt and Beispielheim (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        logins = demo_load()
        base = settings.RATHAUS_BASE_DOMAIN
        self.stdout.write(self.style.SUCCESS("Demo municipalities are ready."))
        for login in logins:
            self.stdout.write(f"  {login.municipality:<13} {login.email:<36} {login.role}")
        self.stdout.write(f"  password for all demo accounts: {DEMO_PASSWORD}")
        self.stdout.write(f"  authenticator secret of admin@…: {DEMO_TOTP_SECRET}")
        self.stdout.write(f"  (Beispielheim is served at http://beispielheim.{base}:8000/)")
