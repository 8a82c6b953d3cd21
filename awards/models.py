"""
The year-end conference: the leader vote (suy tôn) and the conference record
that hands over the chair.

Secrecy by construction: in a secret vote each ballot only increments the
counters of its candidates (``Candidate.agree`` …) and adds a
``Participation`` row saying that the unit voted. No row holds a unit's
choice, so no id, ordering or timestamp can link a voter to a choice. An open
vote also keeps ``OpenChoice`` rows (who chose what), as open voting means.
"""

import uuid
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from clusters.frozen import FrozenWithYear
from clusters.models import Cluster, ClusterYear, Unit
from scoring.fields import PointsField
from scoring.models import Band, private_storage


class VoteRules(models.Model):
    """A cluster's rules for the leader vote; clusters without a row use the defaults."""

    class Denominator(models.TextChoices):
        MEMBERS = "members", _("All members")
        PRESENT = "present", _("Members present")

    class TieRule(models.TextChoices):
        HIGHER_TOTAL = "higher_total", _("The higher frozen total")
        SUPERIOR = "superior", _("The superior decides")

    cluster = models.OneToOneField(Cluster, on_delete=models.CASCADE, related_name="vote_rules", verbose_name=_("cluster"))
    threshold = models.PositiveSmallIntegerField(
        _("threshold (%)"), default=50, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    threshold_inclusive = models.BooleanField(
        _("reaching the threshold is enough"), default=False,
        help_text=_("Off: more than the threshold is needed (more than half). On: the threshold is enough (80 in 100 or more)."),
    )
    denominator = models.CharField(_("counted against"), max_length=20, choices=Denominator.choices,
                                   default=Denominator.MEMBERS)
    secret = models.BooleanField(_("secret ballot"), default=True)
    self_vote = models.BooleanField(_("a unit may vote for itself"), default=True)
    tie_rule = models.CharField(_("when candidates stay tied"), max_length=20, choices=TieRule.choices,
                                default=TieRule.HIGHER_TOTAL)

    class Meta:
        verbose_name = _("vote rules")
        verbose_name_plural = _("vote rules")
        constraints = [
            models.CheckConstraint(condition=Q(threshold__gte=1) & Q(threshold__lte=100),
                                   name="awards_voterules_threshold_percent"),
        ]

    def __str__(self) -> str:
        return str(self.cluster)


class Vote(FrozenWithYear, models.Model):
    """One round of the leader vote of a cluster year. The rules are copied in when the round opens."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    class Mode(models.TextChoices):
        ELECTRONIC = "electronic", _("Ballots in the browser")
        PAPER = "paper", _("Paper ballots, counted tallies entered")

    class Outcome(models.TextChoices):
        ACCLAIMED = "acclaimed", _("Acclaimed")
        RUNOFF = "runoff", _("No candidate passed: a runoff round is needed")
        SUPERIOR = "superior", _("Tied: the superior decides")

    cluster_year = models.ForeignKey(ClusterYear, on_delete=models.PROTECT, related_name="votes",
                                     verbose_name=_("cluster year"))
    round = models.PositiveSmallIntegerField(_("round"), default=1)
    reason = models.TextField(_("reason of the round"), blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.OPEN)
    mode = models.CharField(_("mode"), max_length=20, choices=Mode.choices, default=Mode.ELECTRONIC)
    threshold = models.PositiveSmallIntegerField(_("threshold (%)"))
    threshold_inclusive = models.BooleanField(_("reaching the threshold is enough"))
    denominator = models.CharField(_("counted against"), max_length=20, choices=VoteRules.Denominator.choices)
    secret = models.BooleanField(_("secret ballot"))
    self_vote = models.BooleanField(_("a unit may vote for itself"))
    tie_rule = models.CharField(_("when candidates stay tied"), max_length=20, choices=VoteRules.TieRule.choices)
    present = models.ManyToManyField(Unit, related_name="+", blank=True, verbose_name=_("members present"))
    ballots_issued = models.PositiveSmallIntegerField(_("ballots issued"), null=True, blank=True)
    ballots_returned = models.PositiveSmallIntegerField(_("ballots returned"), null=True, blank=True)
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    opened_at = models.DateTimeField(_("opened at"))
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True,
                                  blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, blank=True)
    leader = models.ForeignKey(Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                               verbose_name=_("acclaimed leading unit"))
    explanation = models.TextField(_("explanation"), blank=True)
    decision_number = models.CharField(_("superior's decision number"), max_length=50, blank=True)
    decision_date = models.DateField(_("superior's decision date"), null=True, blank=True)

    class Meta:
        ordering = ["cluster_year", "round"]
        verbose_name = _("leader vote")
        verbose_name_plural = _("leader votes")
        constraints = [
            models.UniqueConstraint(fields=["cluster_year", "round"], name="awards_vote_unique_round"),
            models.UniqueConstraint(fields=["cluster_year"], condition=Q(status="open"),
                                    name="awards_vote_one_open_round"),
        ]

    def __str__(self) -> str:
        return f"{self.cluster_year} – {self.round}"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN


class Candidate(FrozenWithYear, models.Model):
    """A unit on the ballot, with the counters its ballots increment (written only by ``awards.services``)."""

    year_path = "vote__cluster_year"

    vote = models.ForeignKey(Vote, on_delete=models.CASCADE, related_name="candidates")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", verbose_name=_("unit"))
    frozen_total = PointsField(_("frozen total"))
    frozen_rank = models.PositiveSmallIntegerField(_("frozen rank"))
    added_reason = models.TextField(_("why the conference added it"), blank=True)
    agree = models.PositiveSmallIntegerField(_("agree"), default=0)
    disagree = models.PositiveSmallIntegerField(_("disagree"), default=0)
    blank = models.PositiveSmallIntegerField(_("blank"), default=0)
    passed = models.BooleanField(_("passed"), default=False)

    class Meta:
        ordering = ["vote", "frozen_rank", "unit__name"]
        verbose_name = _("candidate")
        verbose_name_plural = _("candidates")
        constraints = [
            models.UniqueConstraint(fields=["vote", "unit"], name="awards_candidate_once_per_vote"),
        ]

    def __str__(self) -> str:
        return str(self.unit)


class Participation(FrozenWithYear, models.Model):
    """That a unit has voted in a round: the roll of turnout, kept apart from any choice."""

    year_path = "vote__cluster_year"

    vote = models.ForeignKey(Vote, on_delete=models.CASCADE, related_name="participations")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("participation")
        verbose_name_plural = _("participations")
        constraints = [
            models.UniqueConstraint(fields=["vote", "unit"], name="awards_participation_one_ballot_per_unit"),
        ]


class OpenChoice(FrozenWithYear, models.Model):
    """Open ballots only: what a unit chose for a candidate."""

    year_path = "vote__cluster_year"

    class Choice(models.TextChoices):
        AGREE = "agree", _("Agree")
        DISAGREE = "disagree", _("Disagree")
        BLANK = "blank", _("Blank")

    vote = models.ForeignKey(Vote, on_delete=models.CASCADE, related_name="open_choices")
    voter = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="open_choices")
    choice = models.CharField(max_length=10, choices=Choice.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["voter", "candidate"], name="awards_openchoice_once"),
        ]


class Conference(FrozenWithYear, models.Model):
    """The year-end conference as recorded when it is finished (``services.finish_conference``)."""

    cluster_year = models.OneToOneField(ClusterYear, on_delete=models.PROTECT, related_name="conference",
                                        verbose_name=_("cluster year"))
    held_on = models.DateField(_("date"))
    place = models.CharField(_("place"), max_length=200)
    presiding = models.CharField(_("presiding officer"), max_length=200)
    leader = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", null=True, blank=True,
                               verbose_name=_("acclaimed leading unit"))
    next_chair = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", verbose_name=_("next chair"))
    next_vice_chair = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", null=True, blank=True,
                                        verbose_name=_("next vice chair"))
    chair_basis = models.CharField(_("basis of the chair"), max_length=20, choices=ClusterYear.ChairBasis.choices)
    override_reason = models.TextField(_("why the policy's choice was overridden"), blank=True)
    finished_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    finished_at = models.DateTimeField(_("finished at"))

    class Meta:
        verbose_name = _("conference")
        verbose_name_plural = _("conferences")

    def __str__(self) -> str:
        return str(self.cluster_year)


# --- awards: the catalogue, proposals and the superior's decisions ---------------------------------


class AwardType(models.Model):
    """
    An award in the catalogue (data, seeded from Circular 118/2023/TT-BQP): who
    decides it, which unit kinds it applies to, its quota and its prerequisites.
    """

    class Kind(models.TextChoices):
        TITLE = "title", _("Emulation title")
        FLAG = "flag", _("Emulation flag")
        CERTIFICATE = "certificate", _("Certificate of merit")

    class QuotaScope(models.TextChoices):
        CLUSTER = "cluster", _("per cluster")
        SUPERIOR = "superior", _("per superior")

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    level = models.CharField(_("level"), max_length=100, help_text=_("For example: Ministry of Defence, command."))
    authority = models.CharField(_("deciding authority"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    unit_kinds = models.CharField(
        _("unit kinds"), max_length=100, default="military,school,enterprise,civil",
        help_text=_("Comma-separated: military, school, enterprise, civil."),
    )
    variant_of = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="variants",
                                   verbose_name=_("variant of"),
                                   help_text=_("The same award under another name for other unit kinds."))
    quota_count = models.PositiveSmallIntegerField(_("quota (number)"), null=True, blank=True)
    quota_percent = models.PositiveSmallIntegerField(_("quota (percent of units)"), null=True, blank=True)
    quota_scope = models.CharField(_("quota counted"), max_length=20, choices=QuotaScope.choices,
                                   default=QuotaScope.CLUSTER)
    min_band = models.CharField(_("minimum band"), max_length=20, blank=True, choices=Band.choices)
    requires_leader = models.BooleanField(_("only the acclaimed leading unit"), default=False)
    requires_same_year = models.ManyToManyField("self", symmetrical=False, blank=True, related_name="+",
                                                verbose_name=_("needs in the same year"))
    chain_award = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                    verbose_name=_("needs in consecutive earlier years"))
    chain_years = models.PositiveSmallIntegerField(_("number of consecutive earlier years"), default=0)
    source = models.CharField(_("source"), max_length=300, blank=True,
                              help_text=_("The regulation the rule comes from, or that it was not found."))
    position = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("award type")
        verbose_name_plural = _("award types")
        constraints = [
            models.CheckConstraint(condition=Q(quota_percent__isnull=True) | Q(quota_percent__lte=100),
                                   name="awards_awardtype_quota_percent_max_100"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def unit_kind_list(self) -> list[str]:
        return [k.strip() for k in self.unit_kinds.split(",") if k.strip()]


PROPOSAL_DECIDED = _("This proposal was granted by a decision in force; revoke the decision with its reason first.")


class ProposalQuerySet(models.QuerySet):
    """Granted proposals (a decision in force names them) are not updated or deleted in bulk either."""

    def _refuse_granted(self) -> None:
        if self.filter(grants__isnull=False, grants__decision__revoked_at__isnull=True).exists():
            raise ValidationError(PROPOSAL_DECIDED)

    def update(self, **kwargs):
        self._refuse_granted()
        return super().update(**kwargs)

    update.queryset_only = True

    def delete(self):
        self._refuse_granted()
        return super().delete()

    delete.queryset_only = True
    delete.alters_data = True


class Proposal(models.Model):
    """
    A unit proposed for an award by its cluster for a year. Written by ``awards.services``.
    Once a decision in force grants it, it no longer changes (revoking the decision comes first).
    """

    objects = ProposalQuerySet.as_manager()

    cluster_year = models.ForeignKey(ClusterYear, on_delete=models.PROTECT, related_name="proposals",
                                     verbose_name=_("cluster year"))
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="proposals", verbose_name=_("unit"))
    award_type = models.ForeignKey(AwardType, on_delete=models.PROTECT, related_name="proposals",
                                   verbose_name=_("award"))
    justification = models.TextField(_("justification"))
    reason = models.TextField(_("why the officer added it"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"))
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    withdrawn_reason = models.TextField(_("why it was withdrawn"), blank=True)

    class Meta:
        ordering = ["cluster_year", "award_type__position", "unit__name"]
        verbose_name = _("proposal")
        verbose_name_plural = _("proposals")
        constraints = [
            models.UniqueConstraint(fields=["cluster_year", "unit", "award_type"], condition=Q(withdrawn_at__isnull=True),
                                    name="awards_proposal_once_per_unit_award_year"),
        ]

    def __str__(self) -> str:
        return f"{self.unit} – {self.award_type}"

    def is_granted(self) -> bool:
        return self.pk is not None and Grant.objects.filter(proposal_id=self.pk, decision__revoked_at__isnull=True).exists()

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding and self.is_granted():
            raise ValidationError(PROPOSAL_DECIDED)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.is_granted():
            raise ValidationError(PROPOSAL_DECIDED)
        return super().delete(*args, **kwargs)


def decision_scan_path(instance: "Decision", filename: str) -> str:
    return f"decisions/{instance.date:%Y}/{uuid.uuid4().hex}{PurePath(filename).suffix.lower()}"


class Decision(models.Model):
    """The superior's decision granting awards (số quyết định). Revoked decisions are kept."""

    superior = models.ForeignKey("clusters.Superior", on_delete=models.PROTECT, related_name="decisions",
                                 verbose_name=_("superior command"))
    number = models.CharField(_("number"), max_length=50, help_text=_("For example 231/QĐ-BTL."))
    date = models.DateField(_("date"))
    authority = models.CharField(_("issuing authority"), max_length=200)
    signer = models.CharField(_("signer"), max_length=200)
    year = models.PositiveSmallIntegerField(_("year of the emulation"))
    scan = models.FileField(_("scan"), upload_to=decision_scan_path, storage=private_storage, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(_("recorded at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True,
                                   blank=True)
    revoked_reason = models.TextField(_("why it was revoked"), blank=True)

    class Meta:
        ordering = ["-date", "number"]
        verbose_name = _("decision")
        verbose_name_plural = _("decisions")
        constraints = [
            models.UniqueConstraint(fields=["superior", "number"], name="awards_decision_unique_number"),
        ]

    def __str__(self) -> str:
        return f"{self.number} ({self.date:%d/%m/%Y})"


class Grant(models.Model):
    """One award granted to one unit by a decision; the unit's award history."""

    decision = models.ForeignKey(Decision, on_delete=models.PROTECT, related_name="grants")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="grants", verbose_name=_("unit"))
    award_type = models.ForeignKey(AwardType, on_delete=models.PROTECT, related_name="grants",
                                   verbose_name=_("award"))
    year = models.PositiveSmallIntegerField(_("year"))
    proposal = models.ForeignKey(Proposal, on_delete=models.SET_NULL, null=True, blank=True, related_name="grants")

    class Meta:
        ordering = ["-year", "award_type__position", "unit__name"]
        verbose_name = _("granted award")
        verbose_name_plural = _("granted awards")
        constraints = [
            models.UniqueConstraint(fields=["decision", "unit", "award_type"], name="awards_grant_once_per_decision"),
        ]

    def __str__(self) -> str:
        return f"{self.unit} – {self.award_type} ({self.year})"
