from django.urls import path

from rathaus.legal import views

app_name = "legal"

urlpatterns = [
    path("impressum/", views.imprint, name="imprint"),
    path("datenschutz/", views.privacy, name="privacy"),
    path("barrierefreiheit/", views.accessibility, name="accessibility"),
    path("verwaltung/rechtliches/", views.backoffice_list, name="backoffice_list"),
    path("verwaltung/rechtliches/<int:page_id>/", views.backoffice_edit, name="backoffice_edit"),
]
