"""Pages of appointments, walk-in tickets, counters, call display, waiting times."""

from django.urls import path

from rathaus.buergerbuero import views

app_name = "buergerbuero"

urlpatterns = [
    path("termine/", views.book, name="book"),
    path("termine/zeiten/", views.book_slots, name="book_slots"),
    path("termine/reserviert/", views.reserved, name="reserved"),
    path("termine/bestaetigen/<str:token>/", views.confirm, name="confirm"),
    path("termine/verwalten/<str:token>/", views.manage, name="manage"),
    path("termine/verwalten/<str:token>/termin.ics", views.appointment_ics, name="ics"),
    path("termine/meine/", views.my_appointments, name="my_appointments"),
    path(
        "termine/meine/<int:appointment_id>/absagen/",
        views.my_appointment_cancel,
        name="my_appointment_cancel",
    ),
    path("termine/wartenummer/", views.online_ticket, name="online_ticket"),
    path("termine/wartenummer/<str:token>/", views.ticket_status, name="ticket_status"),
    path("termine/wartenummer/<str:token>/ticket.pdf", views.ticket_pdf_view, name="ticket_pdf"),
    path("termine/wartezeiten/", views.waiting, name="waiting"),
    path("kiosk/buergerbuero/<int:location_id>/", views.kiosk_ticket, name="kiosk_ticket"),
    path(
        "kiosk/buergerbuero/<int:location_id>/checkin/", views.kiosk_checkin, name="kiosk_checkin"
    ),
    path("kiosk/buergerbuero/<int:location_id>/aufruf/", views.call_display, name="call_display"),
    path(
        "kiosk/buergerbuero/nummer/<str:token>/",
        views.kiosk_ticket_done,
        name="kiosk_ticket_done",
    ),
    path("verwaltung/buergerbuero/", views.staff_home, name="staff_home"),
    path("verwaltung/buergerbuero/schalter/<int:counter_id>/", views.counter, name="counter"),
    path("verwaltung/buergerbuero/einrichtung/", views.setup_home, name="setup"),
    path(
        "verwaltung/buergerbuero/einrichtung/<int:office_id>/",
        views.setup_office,
        name="setup_office",
    ),
    path("verwaltung/buergerbuero/statistik/", views.statistics_page, name="statistics"),
    path("verwaltung/buergerbuero/statistik.csv", views.statistics_csv, name="statistics_csv"),
]
