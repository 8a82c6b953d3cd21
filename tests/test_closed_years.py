"""
A closed year does not change, whatever the path.

Cụm 6 2024 is taken through its whole cycle by the services: four approved
sheets (A 90, B 80, C 70, G 60, with an evidence file on B's), the scoring
closed (snapshot 1), a secret vote acclaiming A, the conference finished (the
year closed, 2025 opened), the default proposals made and all of them granted
by the superior's decision. Then every path that could write tries to change
it — the pages, the forms, the admin (change and delete pages, bulk delete,
actions), the Excel upload, the services, the management commands, and the
models themselves (``save()``, ``delete()``, queryset ``update()`` and
``delete()``) — each as its own test. Every one must leave the year's
fingerprint (every row of its cluster year, members, histories, criteria,
sheets, scores, evidence, trail, snapshots, results, votes, candidates,
roll, conference, proposals and grants) exactly as it was, and tell the user
why (a 403 page, an error message, a form error or the refusal itself).

The one way in is the amendment of an official score with its reason, which
adds a snapshot and keeps the first.
"""

import datetime
from pathlib import Path

import pytest
from django import forms
from django.contrib import admin as django_admin
from django.contrib import messages
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command, get_commands
from django.core.management.base import CommandError
from django.db.models import F, ProtectedError
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from awards import awarding
from awards import services as award_services
from awards.admin import NO_OPEN_ROUND
from awards.models import AwardType, Candidate, Conference, Grant, OpenChoice, Participation, Proposal, Vote
from clusters import services as cluster_services
from clusters.frozen import YEAR_FROZEN
from clusters.models import ClusterYear, Membership, PhaseChange
from scoring import excel
from scoring import services as scoring_services
from scoring import views as scoring_views
from scoring.models import (
    SET_LOCKED,
    SNAPSHOT_FROZEN,
    ClusterYearSet,
    CriteriaSet,
    Criterion,
    Evidence,
    Result,
    ResultSnapshot,
    Score,
    ScoreEvent,
    Sheet,
)
from tests.awards.conftest import arrange_conference

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(datetime.datetime(2024, 11, 1, 14, 0))
HELD_ON = datetime.date(2024, 11, 1)


@pytest.fixture
def closed(world, settings, tmp_path):
    """Cụm 6 2024 closed with frozen results, a finished conference, proposals all decided (see the docstring)."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    w = arrange_conference(world)
    officer = w.users["officer_a"]
    w.sheet_b = Sheet.objects.get(cluster_year=w.y6, unit=w.units["B"])
    score = w.sheet_b.scores.get(criterion__code="1.1")
    w.evidence = Evidence(score=score, original_name="bien-ban.pdf", size=8, uploaded_by=w.users["staff_b"],
                          uploaded_at=NOW)
    w.evidence.file.save("bien-ban.pdf", ContentFile(b"%PDF-1.4"), save=False)
    w.evidence.save()
    w.vote = award_services.prepare_vote(cluster_year=w.y6, by=officer, now=NOW)
    w.candidate = w.vote.candidates.get()
    for unit in "ABCG":
        award_services.cast_ballot(vote=w.vote, unit=w.units[unit], choices={w.candidate.pk: "agree"})
    award_services.close_vote(vote=w.vote, by=officer, now=NOW)
    w.next_year = award_services.finish_conference(cluster_year=w.y6, by=officer, now=NOW, held_on=HELD_ON,
                                                   place="Hà Nội", presiding="Phó Tư lệnh")
    w.y6.refresh_from_db()
    w.proposals = awarding.propose_defaults(cluster_year=w.y6, by=officer, now=NOW)
    w.decision = awarding.record_decision(
        superior=w.superior, number="1/QĐ-BTL", date=datetime.date(2024, 12, 20), authority="Bộ Tư lệnh",
        signer="Tư lệnh", year=2024, grants=[(p.unit, p.award_type, p) for p in w.proposals], by=w.users["command"],
        now=NOW,
    )
    w.criteria_set = ClusterYearSet.objects.get(cluster_year=w.y6).criteria_set
    w.ids = {c.code: c.pk for c in w.criteria_set.criteria.all()}
    assert (w.y6.phase, w.vote.cluster_year.pk, len(w.proposals) > 1) == ("closed", w.y6.pk, True)
    return w


def fingerprint(w) -> dict[str, list]:
    """Every row that makes up the closed year, as stored."""
    cy = w.y6
    sheets = Sheet.objects.filter(cluster_year=cy)
    votes = Vote.objects.filter(cluster_year=cy)
    tables = {
        "cluster year": ClusterYear.objects.filter(pk=cy.pk),
        "cluster year history": ClusterYear.history.filter(id=cy.pk),
        "memberships": Membership.objects.filter(cluster_year=cy),
        "membership history": Membership.history.filter(cluster_year_id=cy.pk),
        "phase changes": PhaseChange.objects.filter(cluster_year=cy),
        "criteria link": ClusterYearSet.objects.filter(cluster_year=cy),
        "criteria set": CriteriaSet.objects.filter(pk=w.criteria_set.pk),
        "criteria": Criterion.objects.filter(criteria_set=w.criteria_set),
        "sheets": sheets,
        "scores": Score.objects.filter(sheet__in=sheets),
        "evidence": Evidence.objects.filter(score__sheet__in=sheets),
        "score events": ScoreEvent.objects.filter(sheet__in=sheets),
        "snapshots": ResultSnapshot.objects.filter(cluster_year=cy),
        "results": Result.objects.filter(snapshot__cluster_year=cy),
        "votes": votes,
        "present": Vote.present.through.objects.filter(vote__in=votes),
        "candidates": Candidate.objects.filter(vote__in=votes),
        "participations": Participation.objects.filter(vote__in=votes),
        "open choices": OpenChoice.objects.filter(vote__in=votes),
        "conference": Conference.objects.filter(cluster_year=cy),
        "proposals": Proposal.objects.filter(cluster_year=cy),
        "grants": Grant.objects.filter(proposal__cluster_year=cy),
    }
    rows = {name: list(qs.order_by("pk").values()) for name, qs in tables.items()}
    rows["evidence files"] = [Path(e.file.path).read_bytes() for e in Evidence.objects.filter(score__sheet__in=sheets)]
    return rows


def told(outcome) -> str:
    """What the user was told when a path said no ("" when nothing said no)."""
    if isinstance(outcome, BaseException):
        return " ".join(getattr(outcome, "messages", None) or [str(outcome)])
    response = outcome
    said = []
    if response.status_code in (403, 409):
        said.append(f"HTTP {response.status_code}")
    said += [str(m) for m in get_messages(response.wsgi_request) if m.level >= messages.WARNING]
    context = response.context or {}
    for key in ("form", "adminform"):
        form = context.get(key) if hasattr(context, "get") else None
        form = getattr(form, "form", form)
        if form is not None and getattr(form, "errors", None):
            said += [str(e) for errors in form.errors.values() for e in errors]
    if hasattr(context, "get") and (context.get("perms_lacking") or context.get("protected")):
        said.append("cannot delete: " + ", ".join(map(str, context.get("perms_lacking") or context.get("protected"))))
    return " ".join(said)


# --- the paths ------------------------------------------------------------------------------------

def as_(client, w, persona):
    client.force_login(w.users[persona])
    return client


def sheet_url(w, name="scoring:sheet", unit="B"):
    return reverse(name, args=[w.y6.pk, w.units[unit].pk])


def sheet_post(w, **extra):
    data = {"version": Sheet.objects.get(pk=w.sheet_b.pk).version, "save": "1", **extra}
    for code in ("1.1", "2.1"):
        data[f"points_{w.ids[code]}"] = "1"
        data[f"note_{w.ids[code]}"] = ""
    return data


def review_post(w, action, **extra):
    return {"version": Sheet.objects.get(pk=w.sheet_b.pk).version, "action": action, "message": "", **extra}


def admin_change(model, obj, data):
    def path(w, client):
        target = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[obj(w).pk])
        return as_(client, w, "admin").post(target, data(w))
    return path


def admin_delete(model, obj):
    def path(w, client):
        target = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_delete", args=[obj(w).pk])
        return as_(client, w, "admin").post(target, {"post": "yes"})
    return path


def admin_action(model, action, obj, **extra):
    def path(w, client):
        target = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        data = {"action": action, "_selected_action": [obj(w).pk], **extra}
        return as_(client, w, "admin").post(target, data)
    return path


def admin_form_save(model, obj, changes):
    """The admin's own ModelForm for the object, bound to changed data and saved (as a custom view would)."""
    def path(w, client):
        request = RequestFactory().post("/")
        request.user = w.users["admin"]
        instance = obj(w)
        model_admin = django_admin.site._registry[model]
        form_class = model_admin.get_form(request, instance, change=True, fields=list(changes(w)))
        form = form_class(data=changes(w), instance=instance)
        if not form.is_valid():
            raise ValidationError([e for errors in form.errors.values() for e in errors])
        return form.save()
    return path


def command(name, *args, **options):
    def path(w, client):
        call_command(name, *args, **options)
    return path


def model_call(action):
    def path(w, client):
        return action(w)
    return path


def the_year(w):
    return w.y6


def cluster_year_form(w):
    return {"self_assessment_due": "2024-12-31", "review_due": "2024-12-31", "chair_basis": "rotation",
            "decision_number": "", "decision_date": "", "handover_date": "", "note": "sửa",
            "memberships-TOTAL_FORMS": 0, "memberships-INITIAL_FORMS": 0, "phase_changes-TOTAL_FORMS": 0,
            "phase_changes-INITIAL_FORMS": 0, "criteria_link-TOTAL_FORMS": 0, "criteria_link-INITIAL_FORMS": 0}


def xlsx(w):
    return SimpleUploadedFile("phieu.xlsx", excel.export_sheet(cluster_year=w.y6, unit=w.units["B"]))


def excel_service(w, client):
    entries = excel.read_upload(file=xlsx(w), cluster_year=w.y6, unit=w.units["B"])
    return scoring_services.save_self_assessment(
        cluster_year=w.y6, unit=w.units["B"], entries=entries, version=Sheet.objects.get(pk=w.sheet_b.pk).version,
        by=w.users["staff_b"], now=timezone.now(), today=timezone.localdate())


def restore_without_a_backup(w, client):
    """``restore`` checks everything before it writes anything: a directory without a manifest is refused."""
    empty = Path(w.tmp) / "not-a-backup"
    empty.mkdir()
    call_command("restore", str(empty))


A = AwardType.objects.filter  # the catalogue is seeded by a migration

PATHS = {
    # the pages
    "view: save the sheet": (lambda w, c: as_(c, w, "staff_b").post(sheet_url(w), sheet_post(w)), 403),
    "view: submit the sheet": (
        lambda w, c: as_(c, w, "staff_b").post(sheet_url(w), sheet_post(w, submit="1")), 403),
    "view: upload evidence": (lambda w, c: as_(c, w, "staff_b").post(sheet_url(w), sheet_post(
        w, **{f"files_{w.ids['2.1']}": SimpleUploadedFile("them.pdf", b"%PDF-1.4")})), 403),
    "view: remove evidence": (
        lambda w, c: as_(c, w, "staff_b").post(sheet_url(w), sheet_post(w, remove_evidence=[w.evidence.pk])), 403),
    "view: import the Excel sheet": (lambda w, c: as_(c, w, "staff_b").post(
        sheet_url(w, "scoring:sheet-import"), {"version": w.sheet_b.version, "file": xlsx(w)}), 403),
    "view: review, set official points": (lambda w, c: as_(c, w, "command").post(
        sheet_url(w, "scoring:sheet-review"), review_post(w, "save", **{
            f"official_{w.ids['1.1']}": "1", f"reason_{w.ids['1.1']}": "Sai"})), scoring_services.NOT_UNDER_REVIEW),
    "view: review, accept the rest": (lambda w, c: as_(c, w, "command").post(
        sheet_url(w, "scoring:sheet-review"), review_post(w, "accept_rest")), scoring_services.NOT_UNDER_REVIEW),
    "view: review, return": (lambda w, c: as_(c, w, "command").post(
        sheet_url(w, "scoring:sheet-review"), review_post(w, "return", message="Bổ sung")),
        scoring_services.NOT_UNDER_REVIEW),
    "view: review, approve": (lambda w, c: as_(c, w, "command").post(
        sheet_url(w, "scoring:sheet-review"), review_post(w, "approve")), scoring_services.NOT_UNDER_REVIEW),
    "view: reopen the sheet": (lambda w, c: as_(c, w, "command").post(
        sheet_url(w, "scoring:sheet-reopen"), {"until": "2030-01-01", "reason": "Bổ sung"}),
        scoring_services.NOT_REOPENABLE),
    "view: close the scoring": (lambda w, c: as_(c, w, "officer_a").post(
        reverse("scoring:close-scoring", args=[w.y6.pk]), {"confirm": "on", "reason": "x"}), 403),
    "view: close the scoring of the whole year": (lambda w, c: as_(c, w, "command").post(
        reverse("scoring:overview-close-scoring") + f"?superior={w.superior.pk}&year={w.y6.year}",
        {"confirm": "on", "reason": "x"}, follow=True), scoring_views.NOTHING_TO_CLOSE),
    "view: amend without a reason": (lambda w, c: as_(c, w, "command").post(
        sheet_url(w, "scoring:sheet-amend"), {"criterion": w.ids["1.1"], "points": "1", "reason": ""}),
        forms.Field.default_error_messages["required"]),
    "view: advance the phase": (lambda w, c: as_(c, w, "command").post(
        reverse("clusters:clusteryear-advance", args=[w.y6.pk]), {"expected_phase": "closed"}), 403),
    "view: cast a ballot": (lambda w, c: as_(c, w, "staff_b").post(
        reverse("awards:ballot", args=[w.vote.pk]), {f"candidate_{w.candidate.pk}": "disagree"}),
        award_services.NOT_OPEN),
    "view: open a vote": (lambda w, c: as_(c, w, "officer_a").post(
        reverse("awards:vote-prepare", args=[w.y6.pk]), {"mode": "electronic"}), award_services.NOT_CONFERENCE),
    "view: close the vote": (lambda w, c: as_(c, w, "officer_a").post(
        reverse("awards:vote-close", args=[w.vote.pk])), award_services.NOT_OPEN),
    "view: enter paper tallies": (lambda w, c: as_(c, w, "officer_a").post(
        reverse("awards:vote-paper", args=[w.vote.pk]), {
            "issued": 4, "returned": 4, f"agree_{w.candidate.pk}": 0, f"disagree_{w.candidate.pk}": 4,
            f"blank_{w.candidate.pk}": 0}), award_services.NOT_OPEN),
    "view: open a runoff": (lambda w, c: as_(c, w, "officer_a").post(
        reverse("awards:vote-runoff", args=[w.vote.pk]), {"reason": "Bầu lại"}), award_services.NO_RUNOFF),
    "view: record the superior's decision on the leader": (lambda w, c: as_(c, w, "command").post(
        reverse("awards:vote-decision", args=[w.vote.pk]), {
            "unit": w.units["A"].pk, "number": "9/QĐ", "date": "2024-12-01"}), award_services.NOT_CONFERENCE),
    "view: finish the conference again": (lambda w, c: as_(c, w, "officer_a").post(
        reverse("awards:conference-finish", args=[w.y6.pk]), {
            "held_on": "2024-11-02", "place": "Hà Nội", "presiding": "x"}), award_services.CONFERENCE_DONE),
    "view: add a proposal": (lambda w, c: as_(c, w, "officer_a").post(
        reverse("awards:proposal-add", args=[w.y6.pk]), {
            "unit": w.units["G"].pk, "award": A(code="giay-khen").get().pk, "reason": "Thêm"}),
        awarding.PROPOSALS_DECIDED),
    "view: withdraw a proposal": (lambda w, c: as_(c, w, "officer_a").post(
        reverse("awards:proposal-withdraw", args=[w.proposals[0].pk]), {"reason": "Rút"}),
        awarding.PROPOSAL_GRANTED),
    "view: generate the proposals": (lambda w, c: as_(c, w, "officer_a").post(
        reverse("awards:proposals-generate", args=[w.y6.pk])), awarding.PROPOSALS_DECIDED),
    # the services, called directly
    "service: set the deadlines": (lambda w, c: cluster_services.set_deadlines(
        cluster_year=w.y6, self_assessment_due=datetime.date(2024, 12, 1), review_due=None,
        by=w.users["admin"]), cluster_services.YEAR_CLOSED),
    "service: change the chair": (lambda w, c: cluster_services.set_chair(
        cluster_year=w.y6, chair=w.units["B"], vice_chair=None, chair_basis="rotation", by=w.users["admin"]),
        cluster_services.YEAR_CLOSED),
    "service: add a member": (lambda w, c: cluster_services.add_member(
        cluster_year=w.y6, unit=w.units["D"], by=w.users["admin"]), cluster_services.YEAR_CLOSED),
    "service: attach another criteria set": (lambda w, c: scoring_services.attach_criteria_set(
        cluster_year=w.y6, criteria_set=CriteriaSet.objects.get(superior=w.superior, year=2025)),
        scoring_services.SET_IN_USE),
    "service: withdraw a granted proposal": (lambda w, c: awarding.withdraw_proposal(
        proposal=w.proposals[-1], reason="Rút", by=w.users["officer_a"], now=NOW), awarding.PROPOSAL_GRANTED),
    "excel: read the upload and save it": (excel_service, scoring_services.SHEET_CLOSED),
    # the admin's forms, saved directly
    "form: the cluster year's admin form": (admin_form_save(
        ClusterYear, the_year, lambda w: {"self_assessment_due": "2024-12-31", "note": "sửa"}), YEAR_FROZEN),
    "form: the criteria set's admin form": (admin_form_save(
        CriteriaSet, lambda w: w.criteria_set, lambda w: {"name": "Đổi tên", "scale": "100", "bonus_cap": "10",
                                                           "deduction_cap": "10", "superior": w.superior.pk,
                                                           "year": 2024}), SET_LOCKED),
    # the admin
    "admin: change the cluster year": (admin_change(ClusterYear, the_year, cluster_year_form), 403),
    "admin: delete the cluster year": (admin_delete(ClusterYear, the_year), 403),
    "admin: bulk delete the cluster year": (admin_action(ClusterYear, "delete_selected", the_year, post="yes"),
                                            "cannot delete"),
    "admin: change a sheet": (admin_change(Sheet, lambda w: w.sheet_b, lambda w: {"status": "draft"}), 403),
    "admin: delete a sheet": (admin_delete(Sheet, lambda w: w.sheet_b), 403),
    "admin: change the vote": (admin_change(Vote, lambda w: w.vote, lambda w: {"status": "open"}), 403),
    "admin: delete the vote": (admin_delete(Vote, lambda w: w.vote), 403),
    "admin: change a proposal": (admin_change(Proposal, lambda w: w.proposals[0], lambda w: {"reason": "x"}), 403),
    "admin: delete a proposal": (admin_delete(Proposal, lambda w: w.proposals[0]), 403),
    "admin: change the conference": (admin_change(Conference, lambda w: w.y6.conference,
                                                  lambda w: {"place": "x"}), 403),
    "admin: delete the conference": (admin_delete(Conference, lambda w: w.y6.conference), 403),
    "admin: change the criteria set": (admin_change(CriteriaSet, lambda w: w.criteria_set,
                                                    lambda w: {"name": "x"}), 403),
    "admin: delete the criteria set": (admin_delete(CriteriaSet, lambda w: w.criteria_set), 403),
    "admin: change the year's criteria set": (admin_change(ClusterYearSet, lambda w: w.y6.criteria_link,
                                                           lambda w: {"cluster_year": w.y6.pk}), 403),
    "admin: delete the year's criteria set": (admin_delete(ClusterYearSet, lambda w: w.y6.criteria_link), 403),
    "admin: bulk delete the year's criteria set": (admin_action(
        ClusterYearSet, "delete_selected", lambda w: w.y6.criteria_link, post="yes"), 403),
    "admin action: advance the phase": (admin_action(ClusterYear, "advance_phase", the_year),
                                        cluster_services.NO_NEXT_PHASE),
    "admin action: close the scoring": (admin_action(ClusterYear, "close_scoring", the_year, confirm="yes"),
                                        scoring_services.NOT_CLOSABLE % {"phase": ClusterYear.Phase.CLOSED.label}),
    "admin action: open the next year": (admin_action(ClusterYear, "open_next_year", the_year), "2025"),
    "admin action: close the open vote": (admin_action(ClusterYear, "close_open_vote", the_year), NO_OPEN_ROUND),
    "admin action: finish the conference": (admin_action(
        ClusterYear, "finish_conference", the_year, confirm="yes", held_on="2024-11-02", place="x", presiding="y"),
        award_services.CONFERENCE_DONE),
    "admin action: clone the criteria set": (admin_action(CriteriaSet, "clone_to_next_year",
                                                          lambda w: w.criteria_set), "2025"),
    # the management commands (every command of the project has a row: see the test below)
    "command: load_demo": (command("load_demo"), None),
    "command: generate_load without --force": (command("generate_load", clusters=1, years=1), "--force"),
    "command: restore from a directory that is not a backup": (restore_without_a_backup, "manifest.json"),
    # the models themselves
    "model: save a snapshot": (model_call(lambda w: ResultSnapshot.objects.get(cluster_year=w.y6).save()),
                               SNAPSHOT_FROZEN),
    "model: delete a snapshot": (model_call(lambda w: ResultSnapshot.objects.get(cluster_year=w.y6).delete()),
                                 SNAPSHOT_FROZEN),
    "model: save a result": (model_call(lambda w: Result.objects.filter(snapshot__cluster_year=w.y6)[0].save()),
                             SNAPSHOT_FROZEN),
    "model: delete a result": (model_call(lambda w: Result.objects.filter(snapshot__cluster_year=w.y6)[0].delete()),
                               SNAPSHOT_FROZEN),
    "queryset: update results": (model_call(
        lambda w: Result.objects.filter(snapshot__cluster_year=w.y6).update(total=0)), SNAPSHOT_FROZEN),
    "queryset: delete results": (model_call(
        lambda w: Result.objects.filter(snapshot__cluster_year=w.y6).delete()), SNAPSHOT_FROZEN),
    "queryset: update snapshots": (model_call(
        lambda w: ResultSnapshot.objects.filter(cluster_year=w.y6).update(checksum="0")), SNAPSHOT_FROZEN),
    "queryset: delete snapshots": (model_call(
        lambda w: ResultSnapshot.objects.filter(cluster_year=w.y6).delete()), SNAPSHOT_FROZEN),
    "model: save a score": (model_call(lambda w: _set_and_save(
        Score.objects.get(sheet=w.sheet_b, criterion_id=w.ids["1.1"]), official_points=1)), YEAR_FROZEN),
    "model: delete a score": (model_call(
        lambda w: Score.objects.get(sheet=w.sheet_b, criterion_id=w.ids["1.1"]).delete()), YEAR_FROZEN),
    "queryset: update scores": (model_call(
        lambda w: Score.objects.filter(sheet__cluster_year=w.y6).update(official_points=0)), YEAR_FROZEN),
    "queryset: update scores through the sheet": (model_call(
        lambda w: w.sheet_b.scores.update(self_points=0)), YEAR_FROZEN),
    "model: save a sheet": (model_call(lambda w: _set_and_save(Sheet.objects.get(pk=w.sheet_b.pk), status="draft")),
                            YEAR_FROZEN),
    "model: delete a sheet": (model_call(lambda w: Sheet.objects.get(pk=w.sheet_b.pk).delete()), YEAR_FROZEN),
    "queryset: update sheets": (model_call(
        lambda w: Sheet.objects.filter(cluster_year=w.y6).update(status="draft")), YEAR_FROZEN),
    "model: remove evidence": (model_call(lambda w: _set_and_save(
        Evidence.objects.get(pk=w.evidence.pk), removed_at=NOW)), YEAR_FROZEN),
    "model: delete evidence": (model_call(lambda w: Evidence.objects.get(pk=w.evidence.pk).delete()), YEAR_FROZEN),
    "model: save the vote": (model_call(lambda w: _set_and_save(Vote.objects.get(pk=w.vote.pk), status="open")),
                             YEAR_FROZEN),
    "model: delete the vote": (model_call(lambda w: Vote.objects.get(pk=w.vote.pk).delete()), YEAR_FROZEN),
    "model: save a candidate": (model_call(lambda w: _set_and_save(
        Candidate.objects.get(pk=w.candidate.pk), agree=0)), YEAR_FROZEN),
    "queryset: add to a candidate's counter": (model_call(
        lambda w: Candidate.objects.filter(pk=w.candidate.pk).update(disagree=F("disagree") + 1)), YEAR_FROZEN),
    "queryset: delete the roll": (model_call(
        lambda w: Participation.objects.filter(vote=w.vote).delete()), YEAR_FROZEN),
    "model: delete a participation": (model_call(
        lambda w: Participation.objects.filter(vote=w.vote)[0].delete()), YEAR_FROZEN),
    "model: save the conference": (model_call(lambda w: _set_and_save(
        Conference.objects.get(cluster_year=w.y6), place="x")), YEAR_FROZEN),
    "model: save the cluster year": (model_call(lambda w: _set_and_save(
        ClusterYear.objects.get(pk=w.y6.pk), note="sửa")), YEAR_FROZEN),
    "queryset: reopen the cluster year": (model_call(
        lambda w: ClusterYear.objects.filter(pk=w.y6.pk).update(phase="review")), YEAR_FROZEN),
    "model: save a membership": (model_call(lambda w: _set_and_save(
        Membership.objects.get(cluster_year=w.y6, unit=w.units["C"]), role="vice_chair")), YEAR_FROZEN),
    "model: delete a membership": (model_call(
        lambda w: Membership.objects.get(cluster_year=w.y6, unit=w.units["C"]).delete()), YEAR_FROZEN),
    "queryset: delete the memberships": (model_call(
        lambda w: Membership.objects.filter(cluster_year=w.y6).delete()), YEAR_FROZEN),
    "model: save a granted proposal": (model_call(lambda w: _set_and_save(
        Proposal.objects.get(pk=w.proposals[0].pk), withdrawn_at=NOW, withdrawn_reason="x")), awarding.PROPOSAL_GRANTED),
    "model: delete a granted proposal": (model_call(lambda w: Proposal.objects.get(pk=w.proposals[0].pk).delete()),
                                         awarding.PROPOSAL_GRANTED),
    "queryset: withdraw the proposals": (model_call(
        lambda w: Proposal.objects.filter(cluster_year=w.y6).update(withdrawn_at=NOW)), awarding.PROPOSAL_GRANTED),
    "queryset: delete the proposals": (model_call(
        lambda w: Proposal.objects.filter(cluster_year=w.y6).delete()), awarding.PROPOSAL_GRANTED),
    "model: save the criteria set": (model_call(lambda w: _set_and_save(
        CriteriaSet.objects.get(pk=w.criteria_set.pk), name="x")), SET_LOCKED),
    "model: save a criterion": (model_call(lambda w: _set_and_save(
        Criterion.objects.get(pk=w.ids["1.1"]), max_points=50)), SET_LOCKED),
    "model: delete a criterion": (model_call(lambda w: Criterion.objects.get(pk=w.ids["1.1"]).delete()),
                                  SET_LOCKED),
}


def _set_and_save(obj, **fields):
    for name, value in fields.items():
        setattr(obj, name, value)
    obj.save()
    return obj


@pytest.mark.parametrize("path", list(PATHS))
def test_no_path_changes_a_closed_year(closed, client, tmp_path, path):
    attempt, expected = PATHS[path]
    closed.tmp = tmp_path
    before = fingerprint(closed)
    try:
        outcome = attempt(closed, client)
    except (ValidationError, PermissionDenied, CommandError, ProtectedError) as refusal:
        outcome = refusal
    assert fingerprint(closed) == before
    if expected is None:  # a path that leaves other years alone by design (the demo loader)
        return
    said = told(outcome) if not isinstance(outcome, (ClusterYear, Sheet, Score)) else ""
    expected = f"HTTP {expected}" if isinstance(expected, int) else str(expected)
    assert expected in said, said


# Commands that only read the database (checked by their own tests), so they cannot change a year.
READ_ONLY_COMMANDS = {"backup"}


def test_every_management_command_of_the_project_is_tried():
    """A new command needs its row in PATHS (or its place among the read-only ones, saying so)."""
    ours = {name for name, app in get_commands().items() if app in ("clusters", "scoring", "awards", "config")}
    tried = {key.split()[1] for key in PATHS if key.startswith("command:")}
    assert ours == tried | READ_ONLY_COMMANDS


def test_no_admin_page_edits_a_closed_year(closed, rf):
    """Every model of the admin whose rows belong to the closed year refuses to change or delete them."""
    request = rf.get("/")
    request.user = closed.users["admin"]
    rows = {
        ClusterYear: [closed.y6], Sheet: [closed.sheet_b], Vote: [closed.vote], Proposal: closed.proposals,
        Conference: [closed.y6.conference], CriteriaSet: [closed.criteria_set],
        ClusterYearSet: [closed.y6.criteria_link], Membership: list(closed.y6.memberships.all()),
        Score: list(closed.sheet_b.scores.all()), Result: list(Result.objects.filter(snapshot__cluster_year=closed.y6)),
        ResultSnapshot: list(closed.y6.snapshots.all()), Candidate: [closed.candidate],
        Participation: list(Participation.objects.filter(vote=closed.vote)), Evidence: [closed.evidence],
    }
    for model, objects in rows.items():
        model_admin = django_admin.site._registry.get(model)
        if model_admin is None:
            continue  # no admin page at all (inlines are covered by their parent's page)
        for obj in objects:
            assert not model_admin.has_change_permission(request, obj), (model, obj)
            assert not model_admin.has_delete_permission(request, obj), (model, obj)


def test_the_amendment_is_the_way_in_and_keeps_both_versions(closed, client):
    w = closed
    before = fingerprint(w)
    first = ResultSnapshot.objects.get(cluster_year=w.y6)
    response = as_(client, w, "command").post(sheet_url(w, "scoring:sheet-amend"), {
        "criterion": w.ids["1.1"], "points": "35", "reason": "Phúc tra: trừ điểm huấn luyện"})
    assert response.status_code == 302
    after = fingerprint(w)
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {"sheets", "scores", "score events", "snapshots", "results"}
    snapshots = list(ResultSnapshot.objects.filter(cluster_year=w.y6).order_by("number"))
    assert [(s.number, s.is_current, s.reason) for s in snapshots] == [
        (1, False, first.reason), (2, True, "Phúc tra: trừ điểm huấn luyện")]
    # The first version is kept as it was: its results and checksum.
    assert [r for r in before["results"]] == [r for r in after["results"] if r["snapshot_id"] == first.pk]
    assert snapshots[0].checksum == first.checksum
    totals = dict(snapshots[1].results.values_list("unit__name", "total"))
    assert (totals["Đơn vị B"], totals["Đơn vị A"]) == (75, 90)
    event = ScoreEvent.objects.get(sheet=w.sheet_b, kind="amended")
    assert (event.old_value, event.new_value, event.reason, event.by) == (
        "40", "35", "Phúc tra: trừ điểm huấn luyện", w.users["command"])
    for snapshot in snapshots:  # each version's checksum is what its rows give
        rows = list(snapshot.results.select_related("unit").order_by("rank", "unit__name"))
        assert scoring_services._checksum(w.y6, snapshot.criteria_set_id, rows) == snapshot.checksum


def test_the_demo_loader_leaves_its_closed_years_alone():
    from awards.demo import load_demo

    load_demo()
    closed_years = ClusterYear.objects.filter(phase="closed").order_by("pk")
    assert closed_years.count() >= 3

    def prints():
        return [fingerprint(type("W", (), {"y6": cy, "criteria_set": cy.criteria_link.criteria_set})())
                for cy in closed_years]

    before = prints()
    load_demo()
    assert prints() == before
