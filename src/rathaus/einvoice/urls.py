"""Pages of the inbox for incoming XRechnung e-invoices (staff only)."""

from django.urls import path

from rathaus.einvoice import views

app_name = "einvoice"

urlpatterns = [
    path("verwaltung/e-rechnungen/", views.inbox, name="inbox"),
    path("verwaltung/e-rechnungen/<int:invoice_id>/", views.detail, name="detail"),
    path("verwaltung/e-rechnungen/<int:invoice_id>/pruefen/", views.decide, name="decide"),
    path("verwaltung/e-rechnungen/<int:invoice_id>/zuordnen/", views.route, name="route"),
    path("verwaltung/e-rechnungen/<int:invoice_id>/dublette/", views.duplicate, name="duplicate"),
    path("verwaltung/e-rechnungen/<int:invoice_id>/original/", views.original, name="original"),
    path("verwaltung/e-rechnungen/<int:invoice_id>/ansicht.pdf", views.view_pdf, name="pdf"),
    path("verwaltung/e-rechnungen/export/", views.exports, name="exports"),
    path(
        "verwaltung/e-rechnungen/export/<int:export_id>.<str:kind>",
        views.export_download,
        name="export_download",
    ),
    path(
        "verwaltung/e-rechnungen/export/<int:export_id>/erneut/",
        views.export_again,
        name="export_again",
    ),
    path("verwaltung/e-rechnungen/leitweg-ids/", views.leitweg, name="leitweg"),
]
