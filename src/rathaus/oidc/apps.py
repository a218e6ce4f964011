from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OidcConfig(AppConfig):
    name = "rathaus.oidc"
    label = "oidc"
    verbose_name = _("OpenID Connect sign-in")

    def ready(self) -> None:
        # Registers the startup check of RATHAUS_OIDC_PROVIDERS.
        from rathaus.oidc import checks  # noqa: F401
