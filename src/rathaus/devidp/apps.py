from django.apps import AppConfig


class DevIdpConfig(AppConfig):
    name = "rathaus.devidp"
    label = "devidp"
    verbose_name = "Development identity provider (TEST ONLY)"

    def ready(self) -> None:
        # Registers the deployment check that warns while the dev IdP is on.
        from rathaus.devidp import checks  # noqa: F401
