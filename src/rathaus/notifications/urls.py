from django.urls import path

from rathaus.notifications import views

app_name = "notifications"

urlpatterns = [
    path("konto/nachrichten/", views.message_list, name="messages"),
    path(
        "konto/nachrichten/<int:notification_id>/gelesen/",
        views.message_mark_read,
        name="message_mark_read",
    ),
    path("konto/nachrichten/alle-gelesen/", views.messages_mark_all_read, name="messages_read"),
    path("konto/benachrichtigungen/", views.preferences, name="preferences"),
]
