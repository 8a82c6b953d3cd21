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
    path("cluster-years/<int:cluster_year_pk>/units/<int:unit_pk>/sheet/amend/", views.sheet_amend, name="sheet-amend"),
    # /cluster-years/<cy>/ranking/: results, closing the scoring, exports
    path("cluster-years/<int:cluster_year_pk>/ranking/", views.ranking_page, name="ranking"),
    path("cluster-years/<int:cluster_year_pk>/close-scoring/", views.close_scoring, name="close-scoring"),
    path("cluster-years/<int:cluster_year_pk>/export/<str:document>.<str:fmt>", views.results_export, name="results-export"),
    # the command's pages
    path("overview/", views.overview, name="overview"),
    path("overview/summary.xlsx", views.overview_export, name="overview-export"),
    path("overview/close-scoring/", views.overview_close_scoring, name="overview-close-scoring"),
    path("overview/period/", views.period, name="period"),
    # /units/<pk>/results/
    path("units/<int:unit_pk>/results/", views.unit_results, name="unit-results"),
    # /evidence/<pk>/
    path("evidence/<int:pk>/", views.evidence_download, name="evidence-download"),
]
