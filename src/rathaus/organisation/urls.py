from django.urls import path

from rathaus.organisation import views

app_name = "organisation"

urlpatterns = [
    path("verwaltung/organisation/", views.unit_tree, name="unit_tree"),
    path("verwaltung/organisation/<int:unit_id>/", views.unit_detail, name="unit_detail"),
    path("verwaltung/organisation/<int:parent_id>/neu/", views.unit_create, name="unit_create"),
    path("verwaltung/organisation/<int:unit_id>/bearbeiten/", views.unit_edit, name="unit_edit"),
    path("verwaltung/organisation/<int:unit_id>/verschieben/", views.unit_move, name="unit_move"),
    path(
        "verwaltung/organisation/<int:unit_id>/rolle-vergeben/",
        views.grant_create,
        name="grant_create",
    ),
    path(
        "verwaltung/organisation/rollenvergaben/<int:grant_id>/entziehen/",
        views.grant_revoke,
        name="grant_revoke",
    ),
    path("verwaltung/rollen/", views.role_list, name="role_list"),
    path("verwaltung/rollen/neu/", views.role_create, name="role_create"),
    path("verwaltung/rollen/<int:role_id>/", views.role_edit, name="role_edit"),
]
