"""
Criteria, sheets, scores, evidence and the score trail.

A ``CriteriaSet`` belongs to a superior and a year; its ``Criterion`` rows form
a tree derived from their codes ("2" is the group of "2.3", which may hold
"2.3.1"). A cluster year is given one set (``ClusterYearSet``). Each member
unit fills one ``Sheet`` per cluster year: a ``Score`` per leaf criterion with
the unit's points (self) and the cluster's (official), ``Evidence`` files, and
a ``ScoreEvent`` for every change (who, when, old → new, why).

Points are ``PointsField`` values: Decimals with 2 places stored as integer
hundredths, so totals are exact on SQLite and PostgreSQL alike.
"""

import uuid
from decimal import Decimal
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from clusters.frozen import FrozenWithYear
from clusters.models import ClusterYear, Superior, Unit

from .fields import PointsField

# Sheets, scores and evidence no longer change once the scoring is closed (the results are frozen).
FROZEN_PHASES = ("conference", "closed")
SNAPSHOT_FROZEN = _("Frozen results cannot be changed; amend the scores with a reason instead.")
GROUP_MAX = _("A group has no maximum; every other criterion has a maximum above 0.")
SET_LOCKED = _("This criteria set is used by a cluster year that has started scoring; it can no longer be changed.")


class TieBreak(models.TextChoices):
    """Rules that separate equal totals, applied in the order the criteria set lists them."""

    STANDARD = "standard", _("higher standard subtotal")
    FEWER_DEDUCTIONS = "fewer_deductions", _("fewer deduction points")
    BONUS = "bonus", _("higher bonus")


class Band(models.TextChoices):
    EXCELLENT = "excellent", _("Excellent")
    GOOD = "good", _("Good")
    FAIR = "fair", _("Fair")
    AVERAGE = "average", _("Average")
    WEAK = "weak", _("Weak")


DEFAULT_TIE_BREAKS = "standard,fewer_deductions"
TIE_BREAKS_INVALID = _("List tie-break rules separated by commas, each once, from: %(choices)s.")


def validate_tie_breaks(value: str) -> None:
    keys = [k.strip() for k in value.split(",") if k.strip()]
    if len(set(keys)) != len(keys) or any(k not in TieBreak.values for k in keys):
        raise ValidationError(TIE_BREAKS_INVALID, params={"choices": ", ".join(TieBreak.values)})


class CriteriaSet(models.Model):
    superior = models.ForeignKey(
        Superior, on_delete=models.PROTECT, related_name="criteria_sets", verbose_name=_("superior command")
    )
    year = models.PositiveSmallIntegerField(_("year"))
    name = models.CharField(_("name"), max_length=200)
    scale = PointsField(_("declared scale"), default=Decimal("100"), help_text=_("Sum of the standard maxima, normally 100."))
    bonus_cap = PointsField(_("cap on the bonus total"), default=Decimal("10"))
    deduction_cap = PointsField(_("cap on the deduction total"), default=Decimal("10"))
    cloned_from = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="clones", verbose_name=_("cloned from")
    )
    tie_breaks = models.CharField(
        _("tie-break rules"),
        max_length=200,
        default=DEFAULT_TIE_BREAKS,
        validators=[validate_tie_breaks],
        help_text=_(
            "After the total, in this order, comma-separated: standard (higher standard subtotal), "
            "fewer_deductions, bonus (higher bonus). Units still equal share the rank."
        ),
    )
    band_excellent = PointsField(_("Excellent from"), default=Decimal("90"))
    band_good = PointsField(_("Good from"), default=Decimal("80"))
    band_fair = PointsField(_("Fair from"), default=Decimal("65"))
    band_average = PointsField(_("Average from"), default=Decimal("50"))

    class Meta:
        ordering = ["superior__name", "-year", "name"]
        verbose_name = _("criteria set")
        verbose_name_plural = _("criteria sets")
        constraints = [
            models.UniqueConstraint(
                fields=["superior", "year", "name"],
                name="scoring_criteriaset_unique_name_per_superior_year",
                violation_error_message=_("This superior already has a criteria set with this name for this year."),
            ),
            models.CheckConstraint(
                condition=Q(scale__gt=0) & Q(bonus_cap__gte=0) & Q(deduction_cap__gte=0),
                name="scoring_criteriaset_caps_not_negative",
                violation_error_message=_("The scale must be positive and the caps cannot be negative."),
            ),
            models.CheckConstraint(
                condition=Q(band_excellent__gt=F("band_good"))
                & Q(band_good__gt=F("band_fair"))
                & Q(band_fair__gt=F("band_average"))
                & Q(band_average__gte=0),
                name="scoring_criteriaset_bands_descending",
                violation_error_message=_("Band thresholds must go down: Excellent > Good > Fair > Average ≥ 0."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.year})"

    @property
    def tie_break_list(self) -> list[str]:
        return [k.strip() for k in self.tie_breaks.split(",") if k.strip()]

    @property
    def is_locked(self) -> bool:
        """Locked once a cluster year using it has left the planning phase."""
        if self.pk is None:
            return False
        return self.cluster_years.exclude(cluster_year__phase=ClusterYear.Phase.PLANNING).exists()

    def save(self, *args, **kwargs) -> None:
        # A guard on every path that saves a model (admin, import, shell): a locked set never changes.
        if self.pk is not None and self.is_locked:
            raise ValidationError(SET_LOCKED)
        super().save(*args, **kwargs)


class Criterion(models.Model):
    class Kind(models.TextChoices):
        GROUP = "group", _("Group")
        STANDARD = "standard", _("Standard")
        BONUS = "bonus", _("Bonus")
        DEDUCTION = "deduction", _("Deduction")

    criteria_set = models.ForeignKey(
        CriteriaSet, on_delete=models.CASCADE, related_name="criteria", verbose_name=_("criteria set")
    )
    code = models.CharField(
        _("code"),
        max_length=20,
        help_text=_("Dotted code: 2 is a group, 2.3 a criterion in it, 2.3.1 a third level."),
    )
    title = models.CharField(_("title"), max_length=500)
    guidance = models.TextField(_("guidance"), blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.STANDARD)
    max_points = PointsField(_("maximum points"), null=True, blank=True)
    evidence_required = models.BooleanField(_("evidence required"), default=False)
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="children", editable=False
    )
    top = models.ForeignKey("self", on_delete=models.CASCADE, null=True, blank=True, related_name="+", editable=False)
    sort_key = models.CharField(max_length=100, editable=False, default="")
    depth = models.PositiveSmallIntegerField(editable=False, default=0)

    class Meta:
        ordering = ["criteria_set", "sort_key"]
        verbose_name = _("criterion")
        verbose_name_plural = _("criteria")
        constraints = [
            models.UniqueConstraint(
                fields=["criteria_set", "code"],
                name="scoring_criterion_unique_code_per_set",
                violation_error_message=_("This code is already used in this criteria set."),
            ),
            models.CheckConstraint(
                condition=(Q(kind="group", max_points__isnull=True) | (~Q(kind="group") & Q(max_points__gt=0))),
                name="scoring_criterion_group_has_no_max_leaf_has_positive_max",
                violation_error_message=GROUP_MAX,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code}. {self.title}"

    @property
    def is_group(self) -> bool:
        return self.kind == self.Kind.GROUP

    def clean(self) -> None:
        # Inline formsets skip check constraints; the rule is repeated here so the admin shows it.
        if self.is_group != (self.max_points is None) or (self.max_points is not None and self.max_points <= 0):
            raise ValidationError({"max_points": GROUP_MAX})

    @property
    def parent_code(self) -> str | None:
        return self.code.rsplit(".", 1)[0] if "." in self.code else None

    @staticmethod
    def sort_key_for(code: str) -> str:
        """"2.10" sorts after "2.9": each part zero-padded."""
        return ".".join(part.zfill(4) for part in code.split("."))

    def save(self, *args, **kwargs) -> None:
        if CriteriaSet.objects.get(pk=self.criteria_set_id).is_locked:
            raise ValidationError(SET_LOCKED)
        self.sort_key = self.sort_key_for(self.code)
        self.depth = self.code.count(".")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.criteria_set.is_locked:
            raise ValidationError(SET_LOCKED)
        return super().delete(*args, **kwargs)


class ClusterYearSet(models.Model):
    """The criteria set a cluster year is scored against. Written by ``services.attach_criteria_set``."""

    cluster_year = models.OneToOneField(
        ClusterYear, on_delete=models.CASCADE, related_name="criteria_link", verbose_name=_("cluster year")
    )
    criteria_set = models.ForeignKey(
        CriteriaSet, on_delete=models.PROTECT, related_name="cluster_years", verbose_name=_("criteria set")
    )

    class Meta:
        verbose_name = _("criteria set of a cluster year")
        verbose_name_plural = _("criteria sets of cluster years")

    def __str__(self) -> str:
        return f"{self.cluster_year}: {self.criteria_set}"


class Sheet(FrozenWithYear, models.Model):
    """
    One unit's score sheet for one cluster year. ``version`` grows with every
    write; a save that was prepared on an older version is refused (two tabs).
    Frozen once the scoring is closed, except for an amendment.
    """

    frozen_phases = FROZEN_PHASES
    amendable = True

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted")
        RETURNED = "returned", _("Returned to the unit")
        APPROVED = "approved", _("Approved")

    cluster_year = models.ForeignKey(
        ClusterYear, on_delete=models.PROTECT, related_name="sheets", verbose_name=_("cluster year")
    )
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="sheets", verbose_name=_("unit"))
    criteria_set = models.ForeignKey(
        CriteriaSet, on_delete=models.PROTECT, related_name="sheets", verbose_name=_("criteria set")
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    version = models.PositiveIntegerField(_("version"), default=1)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("approved by"),
    )
    reopened_until = models.DateField(_("reopened until"), null=True, blank=True)
    return_message = models.TextField(_("message of the return"), blank=True)

    class Meta:
        ordering = ["cluster_year", "unit__name"]
        verbose_name = _("score sheet")
        verbose_name_plural = _("score sheets")
        constraints = [
            models.UniqueConstraint(
                fields=["cluster_year", "unit"],
                name="scoring_sheet_one_per_unit_per_cluster_year",
                violation_error_message=_("This unit already has a sheet for this cluster year."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.unit} – {self.cluster_year}"


def evidence_path(instance: "Evidence", filename: str) -> str:
    suffix = PurePath(filename).suffix.lower()
    return f"evidence/{instance.score.sheet.cluster_year_id}/{instance.score.sheet.unit_id}/{uuid.uuid4().hex}{suffix}"


class PrivateStorage(FileSystemStorage):
    """
    Evidence lives under MEDIA_ROOT with no URL: it is served only through a permission-checked view.
    No explicit location: the storage reads MEDIA_ROOT when used, so a changed setting (tests, restore)
    is followed instead of the value at import time.
    """

    def url(self, name):
        raise NotImplementedError("Evidence has no public URL; use scoring:evidence-download.")


def private_storage() -> PrivateStorage:
    return PrivateStorage()


class Score(FrozenWithYear, models.Model):
    """One leaf criterion of a sheet. Points are written only by ``scoring.services``."""

    year_path = "sheet__cluster_year"
    frozen_phases = FROZEN_PHASES
    amendable = True

    sheet = models.ForeignKey(Sheet, on_delete=models.CASCADE, related_name="scores", verbose_name=_("sheet"))
    criterion = models.ForeignKey(
        Criterion, on_delete=models.PROTECT, related_name="scores", verbose_name=_("criterion")
    )
    self_points = PointsField(_("self-assessed points"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    official_points = PointsField(_("official points"), null=True, blank=True)
    official_reason = models.TextField(_("reason of the official points"), blank=True)
    comment = models.TextField(_("comment of the cluster"), blank=True)
    answer = models.TextField(_("answer of the unit"), blank=True)

    class Meta:
        ordering = ["sheet", "criterion__sort_key"]
        verbose_name = _("score")
        verbose_name_plural = _("scores")
        indexes = [
            # The totals of a sheet, a cluster or a year read every score of the sheets through this index alone
            # (an index-only scan on PostgreSQL): 10-15% faster than the sheet index and the table (issue #7).
            models.Index(
                fields=["sheet"], include=["criterion", "official_points", "self_points"], name="scoring_score_totals_idx"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["sheet", "criterion"], name="scoring_score_one_per_criterion_per_sheet"
            ),
            models.CheckConstraint(
                condition=(Q(self_points__isnull=True) | Q(self_points__gte=0))
                & (Q(official_points__isnull=True) | Q(official_points__gte=0)),
                name="scoring_score_points_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sheet} – {self.criterion.code}"


class Evidence(FrozenWithYear, models.Model):
    year_path = "score__sheet__cluster_year"
    frozen_phases = FROZEN_PHASES

    score = models.ForeignKey(Score, on_delete=models.CASCADE, related_name="evidence", verbose_name=_("score"))
    file = models.FileField(_("file"), upload_to=evidence_path, storage=private_storage, max_length=300)
    original_name = models.CharField(_("file name"), max_length=255)
    size = models.PositiveBigIntegerField(_("size"))
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(_("uploaded at"))
    removed_at = models.DateTimeField(_("removed at"), null=True, blank=True)

    class Meta:
        ordering = ["uploaded_at", "pk"]
        verbose_name = _("evidence file")
        verbose_name_plural = _("evidence files")

    def __str__(self) -> str:
        return self.original_name


class ScoreEvent(models.Model):
    """The trail: append-only, one row per change. Written only by ``scoring.services``."""

    class Kind(models.TextChoices):
        SELF_POINTS = "self_points", _("Self-assessed points")
        NOTE = "note", _("Note")
        EVIDENCE_ADDED = "evidence_added", _("Evidence added")
        EVIDENCE_REMOVED = "evidence_removed", _("Evidence removed")
        OFFICIAL_POINTS = "official_points", _("Official points")
        AMENDED = "amended", _("Amended after closing")
        COMMENT = "comment", _("Comment of the cluster")
        ANSWER = "answer", _("Answer of the unit")
        STATUS = "status", _("Status")
        REOPENED = "reopened", _("Reopened")

    sheet = models.ForeignKey(Sheet, on_delete=models.CASCADE, related_name="events")
    criterion = models.ForeignKey(Criterion, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    old_value = models.TextField(_("old value"), blank=True)
    new_value = models.TextField(_("new value"), blank=True)
    reason = models.TextField(_("reason"), blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by"))
    at = models.DateTimeField(_("at"))

    class Meta:
        ordering = ["sheet", "at", "pk"]
        verbose_name = _("score event")
        verbose_name_plural = _("score events")
        indexes = [models.Index(fields=["sheet", "criterion"], name="scoring_event_sheet_crit_idx")]

    def __str__(self) -> str:
        return f"{self.sheet} {self.kind} {self.old_value} → {self.new_value}"


class WrittenOnceQuerySet(models.QuerySet):
    """No update or delete in bulk either; superseding the current snapshot is the one change, by name."""

    def update(self, **kwargs):
        raise ValidationError(SNAPSHOT_FROZEN)

    update.queryset_only = True

    def delete(self):
        raise ValidationError(SNAPSHOT_FROZEN)

    delete.queryset_only = True
    delete.alters_data = True

    def supersede(self) -> int:
        """Mark these snapshots as no longer current (an amendment froze a new one)."""
        return super().update(is_current=False)

    supersede.queryset_only = True


class WrittenOnce(models.Model):
    """Rows of frozen results: inserted once, never updated or deleted through a model or a queryset."""

    objects = WrittenOnceQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ValidationError(SNAPSHOT_FROZEN)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError(SNAPSHOT_FROZEN)


class ResultSnapshot(WrittenOnce):
    """
    The frozen results of a cluster year: written once by ``services.close_scoring``
    (number 1) or ``services.amend_official_points`` (the next number), never
    edited; an amendment makes a new snapshot current and keeps the old one.
    """

    cluster_year = models.ForeignKey(
        ClusterYear, on_delete=models.PROTECT, related_name="snapshots", verbose_name=_("cluster year")
    )
    criteria_set = models.ForeignKey(CriteriaSet, on_delete=models.PROTECT, related_name="+")
    number = models.PositiveSmallIntegerField(_("number"))
    is_current = models.BooleanField(_("current"), default=True)
    created_at = models.DateTimeField(_("frozen at"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("frozen by"))
    reason = models.TextField(_("reason"), blank=True)
    checksum = models.CharField(_("checksum"), max_length=64)

    class Meta:
        ordering = ["cluster_year", "-number"]
        verbose_name = _("result snapshot")
        verbose_name_plural = _("result snapshots")
        constraints = [
            models.UniqueConstraint(fields=["cluster_year", "number"], name="scoring_snapshot_unique_number"),
            models.UniqueConstraint(
                fields=["cluster_year"], condition=Q(is_current=True), name="scoring_snapshot_one_current_per_year"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cluster_year} #{self.number}"


class Result(WrittenOnce):
    """One unit's frozen line of a snapshot. Written only with its snapshot."""

    snapshot = models.ForeignKey(ResultSnapshot, on_delete=models.PROTECT, related_name="results")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="results", verbose_name=_("unit"))
    standard = PointsField(_("standard points"))
    bonus = PointsField(_("bonus points"))
    deduction = PointsField(_("deduction points"))
    total = PointsField(_("total"))
    groups = models.JSONField(_("group subtotals"), default=dict)
    rank = models.PositiveSmallIntegerField(_("rank"))
    tied = models.BooleanField(_("tied"), default=False)
    band = models.CharField(_("band"), max_length=20, choices=Band.choices)
    separated_by = models.CharField(_("separated from the unit above by"), max_length=20, blank=True)
    gap = PointsField(_("points behind the unit above"), null=True, blank=True)

    class Meta:
        ordering = ["snapshot", "rank", "unit__name"]
        verbose_name = _("result")
        verbose_name_plural = _("results")
        constraints = [
            models.UniqueConstraint(fields=["snapshot", "unit"], name="scoring_result_one_per_unit_per_snapshot"),
        ]

    def __str__(self) -> str:
        return f"{self.unit} #{self.rank}"
