from django.urls import path

from . import views

app_name = "awards"

urlpatterns = [
    # /cluster-years/<pk>/conference/: the vote and the handover
    path("cluster-years/<int:pk>/conference/", views.conference, name="conference"),
    path("cluster-years/<int:pk>/conference/vote/", views.vote_prepare, name="vote-prepare"),
    path("cluster-years/<int:pk>/conference/finish/", views.conference_finish, name="conference-finish"),
    path("cluster-years/<int:pk>/minutes.pdf", views.minutes, name="minutes"),
    # /votes/<pk>/: one round of the vote
    path("votes/<int:pk>/ballot/", views.ballot, name="ballot"),
    path("votes/<int:pk>/close/", views.vote_close, name="vote-close"),
    path("votes/<int:pk>/paper/", views.vote_paper, name="vote-paper"),
    path("votes/<int:pk>/runoff/", views.vote_runoff, name="vote-runoff"),
    path("votes/<int:pk>/decision/", views.vote_decision, name="vote-decision"),
]
