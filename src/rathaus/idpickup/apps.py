from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IdpickupConfig(AppConfig):
    name = "rathaus.idpickup"
    label = "idpickup"
    verbose_name = _("ID document pickup")
