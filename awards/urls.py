from django.urls import path

from . import views

app_name = "awards"

urlpatterns = [
    # /cluster-years/<pk>/conference/: the vote and the handover
    path("cluster-years/<int:pk>/conference/", views.conference, name="conference"),
    path("cluster-years/<int:pk>/conference/vote/", views.vote_prepare, name="vote-prepare"),
    path("cluster-years/<int:pk>/conference/finish/", views.conference_finish, name="conference-finish"),
    path("cluster-years/<int:pk>/minutes.pdf", views.minutes, name="minutes"),
    # /cluster-years/<pk>/proposals/: the cluster's award proposals
    path("cluster-years/<int:pk>/proposals/", views.proposals, name="proposals"),
    path("cluster-years/<int:pk>/proposals/generate/", views.proposals_generate, name="proposals-generate"),
    path("cluster-years/<int:pk>/proposals/add/", views.proposal_add, name="proposal-add"),
    path("cluster-years/<int:pk>/proposal-letter.pdf", views.proposal_letter, name="proposal-letter"),
    path("proposals/<int:pk>/withdraw/", views.proposal_withdraw, name="proposal-withdraw"),
    # /overview/awards/: the superior's decisions
    path("overview/awards/", views.decisions, name="decisions"),
    path("decisions/<int:pk>/revoke/", views.decision_revoke, name="decision-revoke"),
    path("decisions/<int:pk>/scan/", views.decision_scan, name="decision-scan"),
    # /units/<pk>/awards/
    path("units/<int:unit_pk>/awards/", views.unit_awards, name="unit-awards"),
    # /votes/<pk>/: one round of the vote
    path("votes/<int:pk>/ballot/", views.ballot, name="ballot"),
    path("votes/<int:pk>/close/", views.vote_close, name="vote-close"),
    path("votes/<int:pk>/paper/", views.vote_paper, name="vote-paper"),
    path("votes/<int:pk>/runoff/", views.vote_runoff, name="vote-runoff"),
    path("votes/<int:pk>/decision/", views.vote_decision, name="vote-decision"),
]
