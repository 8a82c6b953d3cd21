from django.urls import path

from . import views

app_name = "scoring"

urlpatterns = [
    # /cluster-years/<cy>/units/<unit>/sheet/: one unit's sheet
    path("cluster-years/<int:cluster_year_pk>/units/<int:unit_pk>/sheet/", views.sheet_detail, name="sheet"),
    path("cluster-years/<int:cluster_year_pk>/units/<int:unit_pk>/sheet/review/", views.sheet_review, name="sheet-review"),
    path("cluster-years/<int:cluster_year_pk>/units/<int:unit_pk>/sheet/reopen/", views.sheet_reopen, name="sheet-reopen"),
    path("cluster-years/<int:cluster_year_pk>/units/<int:unit_pk>/sheet.xlsx", views.sheet_export, name="sheet-export"),
    path("cluster-years/<int:cluster_year_pk>/units/<int:unit_pk>/sheet/import/", views.sheet_import, name="sheet-import"),
    # /cluster-years/<cy>/sheets/: the review list
    path("cluster-years/<int:cluster_year_pk>/sheets/", views.review_list, name="review-list"),
    # /evidence/<pk>/
    path("evidence/<int:pk>/", views.evidence_download, name="evidence-download"),
]
