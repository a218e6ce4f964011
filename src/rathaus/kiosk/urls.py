from django.urls import path

from rathaus.kiosk import views

app_name = "kiosk"

urlpatterns = [path("kiosk/", views.start, name="start")]
