"""The ``rathaus`` command: the project's manage.py, installed with the package."""

import os
import sys


def main() -> None:
    """Run a Django management command with rathaus' settings."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rathaus.settings.base")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
