from django.urls import path

from rathaus.applications import views

app_name = "applications"

urlpatterns = [
    path("leistungen/<slug:slug>/antrag/", views.service_apply, name="start"),
    path("konto/antraege/", views.application_list, name="list"),
    path("konto/antraege/<int:application_id>/", views.application_detail, name="detail"),
    path(
        "konto/antraege/<int:application_id>/schritt/<int:number>/",
        views.application_step,
        name="step",
    ),
    path("konto/antraege/<int:application_id>/pruefen/", views.application_review, name="review"),
    path(
        "konto/antraege/<int:application_id>/einreichen/",
        views.application_submit,
        name="submit",
    ),
    path(
        "konto/antraege/<int:application_id>/bestaetigung/",
        views.application_confirmation,
        name="confirmation",
    ),
    path("konto/antraege/<int:application_id>/zahlung/", views.payment_begin, name="payment"),
    path(
        "konto/antraege/<int:application_id>/zahlung/zurueck/",
        views.payment_return,
        name="payment_return",
    ),
    path(
        "konto/antraege/<int:application_id>/nachreichen/",
        views.documents_supply,
        name="supply",
    ),
    path(
        "konto/antraege/<int:application_id>/zurueckziehen/",
        views.application_withdraw,
        name="withdraw",
    ),
    path(
        "konto/antraege/<int:application_id>/dokumente/<int:document_id>/",
        views.document_download,
        name="document",
    ),
    path("zahlung/test/<str:reference>/", views.test_provider_page, name="test_provider"),
    path("verwaltung/antraege/", views.staff_list, name="staff_list"),
    path("verwaltung/antraege/<int:application_id>/", views.staff_detail, name="staff_detail"),
    path(
        "verwaltung/antraege/<int:application_id>/per-post/",
        views.staff_notice_posted,
        name="staff_notice_posted",
    ),
    path(
        "verwaltung/antraege/<int:application_id>/abschliessen/",
        views.staff_close,
        name="staff_close",
    ),
    path(
        "verwaltung/antraege/<int:application_id>/dokumente/<int:document_id>/",
        views.staff_document,
        name="staff_document",
    ),
    path("verwaltung/formulare/", views.form_list, name="form_list"),
    path("verwaltung/formulare/<int:definition_id>/", views.form_edit, name="form_edit"),
]
