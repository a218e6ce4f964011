"""Pages of ID documents picked up from a locker terminal."""

from django.urls import path

from rathaus.idpickup import views

app_name = "idpickup"

urlpatterns = [
    path("verwaltung/ausweisabholung/", views.dashboard, name="dashboard"),
    path("verwaltung/ausweisabholung/auftraege/", views.order_list, name="orders"),
    path("verwaltung/ausweisabholung/auftraege/neu/", views.order_new, name="order_new"),
    path("verwaltung/ausweisabholung/auftraege/<int:order_id>/", views.order_detail, name="order"),
    path("verwaltung/ausweisabholung/eingang/", views.arrivals, name="arrivals"),
    path("verwaltung/ausweisabholung/terminals/", views.terminal_list, name="terminals"),
    path("verwaltung/ausweisabholung/terminals/neu/", views.terminal_new, name="terminal_new"),
    path(
        "verwaltung/ausweisabholung/terminals/<int:terminal_id>/",
        views.terminal_detail,
        name="terminal",
    ),
    path(
        "verwaltung/ausweisabholung/alarme/<int:alarm_id>/erledigt/",
        views.alarm_clear,
        name="alarm_clear",
    ),
    path("verwaltung/ausweisabholung/karte/", views.credential, name="credential"),
    path("konto/ausweisabholung/", views.my_orders, name="my_orders"),
    path("ausweisabholung/status/", views.status_lookup, name="status"),
    path("kiosk/ausweisabholung/<int:terminal_id>/", views.simulator, name="simulator"),
]
