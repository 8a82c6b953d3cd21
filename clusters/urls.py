from django.urls import path

from . import views

app_name = "clusters"

urlpatterns = [
    # /clusters/<pk>/
    path("clusters/<int:pk>/", views.cluster_detail, name="cluster-detail"),
    # /cluster-years/<pk>/
    path("cluster-years/<int:pk>/", views.clusteryear_detail, name="clusteryear-detail"),
    path("cluster-years/<int:pk>/advance/", views.clusteryear_advance, name="clusteryear-advance"),
    # /units/<pk>/
    path("units/<int:pk>/", views.unit_detail, name="unit-detail"),
]
