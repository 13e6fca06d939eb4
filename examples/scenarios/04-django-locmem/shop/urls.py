from django.urls import path

from . import views

urlpatterns = [
    path("", views.index),
    path("login", views.login),
    path("whoami", views.whoami),
    path("health", views.health),
]
