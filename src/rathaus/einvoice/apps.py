from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EinvoiceConfig(AppConfig):
    name = "rathaus.einvoice"
    label = "einvoice"
    verbose_name = _("E-invoices (E-Rechnung)")
