"""
Units, clusters and their years: who competes with whom, who chairs, and who
may act for which unit or command.

The shape carries the whole yearly cycle: a ``ClusterYear`` is one cluster in
one year (its phase, deadlines and the basis of its chair); a ``Membership``
puts a unit into a cluster year with a role (member, chair, vice chair), so the
chair is a member by construction and the chair history is the list of cluster
years. Scores, votes and awards of later apps hang off ``ClusterYear`` and
``Membership``.
"""

import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .frozen import FrozenWithYear

ROLE_TARGET = _("Unit staff and cluster officers belong to a unit; command officers to a superior.")
MIN_YEAR = 2000
MAX_YEAR = 2100


class User(AbstractUser):
    """A person who logs in; what they may do comes from ``RoleAssignment`` rows."""

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")


class Superior(models.Model):
    """The body that owns clusters and decides awards: a command, ministry or province."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    short_name = models.CharField(_("short name"), max_length=60, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        verbose_name = _("superior command")
        verbose_name_plural = _("superior commands")

    def __str__(self) -> str:
        return self.name


class Unit(models.Model):
    class Kind(models.TextChoices):
        MILITARY = "military", _("Military unit")
        SCHOOL = "school", _("School")
        ENTERPRISE = "enterprise", _("Enterprise")
        CIVIL = "civil", _("Civil body")

    name = models.CharField(_("name"), max_length=200)
    short_name = models.CharField(_("short name"), max_length=60, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.MILITARY)
    superior = models.ForeignKey(
        Superior, on_delete=models.PROTECT, related_name="units", verbose_name=_("superior command")
    )
    is_active = models.BooleanField(_("active"), default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        constraints = [
            models.UniqueConstraint(
                fields=["superior", "name"],
                name="clusters_unit_unique_name_per_superior",
                violation_error_message=_("A unit with this name already exists under this superior."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("clusters:unit-detail", args=[self.pk])


class Cluster(models.Model):
    class ChairPolicy(models.TextChoices):
        LEADER = "leader", _("The leading unit becomes chair")
        FIXED_ORDER = "fixed_order", _("Fixed rotation order of members")
        ELECTED = "elected", _("Elected at the conference")
        ASSIGNED = "assigned", _("Assigned by the superior's decision")

    class ViceChairPolicy(models.TextChoices):
        RUNNER_UP = "runner_up", _("The runner-up becomes vice chair")
        FIXED_ORDER = "fixed_order", _("Fixed rotation order of members")
        ELECTED = "elected", _("Elected at the conference")
        ASSIGNED = "assigned", _("Assigned by the superior's decision")

    name = models.CharField(_("name"), max_length=200)
    superior = models.ForeignKey(
        Superior, on_delete=models.PROTECT, related_name="clusters", verbose_name=_("superior command")
    )
    chair_policy = models.CharField(
        _("chair rotation policy"), max_length=20, choices=ChairPolicy.choices, default=ChairPolicy.LEADER
    )
    vice_chair_policy = models.CharField(
        _("vice chair policy"), max_length=20, choices=ViceChairPolicy.choices, default=ViceChairPolicy.RUNNER_UP
    )
    description = models.TextField(_("description"), blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["superior__name", "name"]
        verbose_name = _("cluster")
        verbose_name_plural = _("clusters")
        constraints = [
            models.UniqueConstraint(
                fields=["superior", "name"],
                name="clusters_cluster_unique_name_per_superior",
                violation_error_message=_("A cluster with this name already exists under this superior."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("clusters:cluster-detail", args=[self.pk])


class ClusterYear(FrozenWithYear, models.Model):
    """One cluster in one year. ``phase`` moves only forward, through ``services.advance_phase``."""

    year_path = ""  # a closed year's own row does not change either (see ``frozen``)

    class Phase(models.TextChoices):
        PLANNING = "planning", _("Planning")
        SCORING = "scoring", _("Self-assessment")
        REVIEW = "review", _("Official review")
        CONFERENCE = "conference", _("Year-end conference")
        CLOSED = "closed", _("Closed")

    class ChairBasis(models.TextChoices):
        FOUNDING = "founding", _("Founding decision of the cluster")
        ROTATION = "rotation", _("Rotation under the cluster's rules")
        ELECTION = "election", _("Elected at the conference")
        DECISION = "decision", _("Decision of the superior")

    cluster = models.ForeignKey(Cluster, on_delete=models.PROTECT, related_name="years", verbose_name=_("cluster"))
    year = models.PositiveSmallIntegerField(
        _("year"), validators=[MinValueValidator(MIN_YEAR), MaxValueValidator(MAX_YEAR)]
    )
    phase = models.CharField(_("phase"), max_length=20, choices=Phase.choices, default=Phase.PLANNING)
    self_assessment_due = models.DateField(_("self-assessment due"), null=True, blank=True)
    review_due = models.DateField(_("review due"), null=True, blank=True)
    chair_basis = models.CharField(
        _("basis of the chair"), max_length=20, choices=ChairBasis.choices, default=ChairBasis.ROTATION
    )
    decision_number = models.CharField(
        _("decision number"), max_length=50, blank=True, help_text=_("For example 3583/QĐ-BTL.")
    )
    decision_date = models.DateField(_("decision date"), null=True, blank=True)
    handover_date = models.DateField(_("handover date"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["cluster__name", "-year"]
        verbose_name = _("cluster year")
        verbose_name_plural = _("cluster years")
        constraints = [
            models.UniqueConstraint(
                fields=["cluster", "year"],
                name="clusters_clusteryear_unique_cluster_year",
                violation_error_message=_("This cluster already has a record for this year."),
            ),
            models.CheckConstraint(
                condition=Q(year__gte=MIN_YEAR) & Q(year__lte=MAX_YEAR),
                name="clusters_clusteryear_year_in_range",
                violation_error_message=_("The year must be between 2000 and 2100."),
            ),
            models.CheckConstraint(
                condition=~Q(chair_basis="decision") | (~Q(decision_number="") & Q(decision_date__isnull=False)),
                name="clusters_clusteryear_decision_has_number_and_date",
                violation_error_message=_(
                    "A chair assigned by the superior's decision needs the decision number and date."
                ),
            ),
            models.CheckConstraint(
                condition=Q(review_due__isnull=True)
                | Q(self_assessment_due__isnull=True)
                | Q(review_due__gte=models.F("self_assessment_due")),
                name="clusters_clusteryear_review_after_self_assessment",
                violation_error_message=_("The review deadline cannot be before the self-assessment deadline."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cluster.name} – {self.year}"

    def get_absolute_url(self) -> str:
        return reverse("clusters:clusteryear-detail", args=[self.pk])

    @property
    def is_closed(self) -> bool:
        return self.phase == self.Phase.CLOSED

    @property
    def next_phase(self) -> "ClusterYear.Phase | None":
        order = list(self.Phase)
        index = order.index(self.Phase(self.phase))
        return order[index + 1] if index + 1 < len(order) else None


class Membership(FrozenWithYear, models.Model):
    """
    A unit in a cluster year, with its role. ``superior`` and ``year`` copy the
    cluster year's so that the database itself refuses a unit in two clusters
    of one superior in one year; only ``save()`` writes them.
    """

    class Role(models.TextChoices):
        MEMBER = "member", _("Member")
        CHAIR = "chair", _("Chair")
        VICE_CHAIR = "vice_chair", _("Vice chair")

    cluster_year = models.ForeignKey(
        ClusterYear, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("cluster year")
    )
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="memberships", verbose_name=_("unit"))
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.MEMBER)
    superior = models.ForeignKey(Superior, on_delete=models.PROTECT, related_name="+", editable=False)
    year = models.PositiveSmallIntegerField(editable=False)

    history = HistoricalRecords()

    class Meta:
        ordering = ["cluster_year", "unit__name"]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(
                fields=["cluster_year", "unit"],
                name="clusters_membership_unique_unit_per_cluster_year",
                violation_error_message=_("This unit is already a member of this cluster year."),
            ),
            models.UniqueConstraint(
                fields=["unit", "superior", "year"],
                name="clusters_membership_one_cluster_per_superior_year",
                violation_error_message=_(
                    "This unit already belongs to another cluster of the same superior in this year."
                ),
            ),
            models.UniqueConstraint(
                fields=["cluster_year"],
                condition=Q(role="chair"),
                name="clusters_membership_one_chair_per_cluster_year",
                violation_error_message=_("A cluster year has only one chair."),
            ),
            models.UniqueConstraint(
                fields=["cluster_year"],
                condition=Q(role="vice_chair"),
                name="clusters_membership_one_vice_chair_per_cluster_year",
                violation_error_message=_("A cluster year has only one vice chair."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.unit} – {self.cluster_year}"

    def clean(self) -> None:
        # The denormalised (unit, superior, year) constraint is skipped by model forms
        # (its fields are not on the form), so the rule is checked here too.
        cluster_year = getattr(self, "cluster_year", None)
        if not self.unit_id or cluster_year is None or not cluster_year.cluster_id:
            return
        if cluster_year.is_closed:
            raise ValidationError(_("This cluster year is closed and can no longer be changed."))
        clash = (
            Membership.objects.filter(
                unit_id=self.unit_id,
                cluster_year__cluster__superior_id=cluster_year.cluster.superior_id,
                cluster_year__year=cluster_year.year,
            )
            .exclude(cluster_year_id=cluster_year.pk)
            .select_related("cluster_year__cluster")
            .first()
        )
        if clash is not None:
            raise ValidationError(
                {
                    "unit": _("%(unit)s already belongs to %(cluster)s in %(year)s.")
                    % {"unit": self.unit, "cluster": clash.cluster_year.cluster, "year": clash.year}
                }
            )

    def save(self, *args, **kwargs) -> None:
        self.superior_id = self.cluster_year.cluster.superior_id
        self.year = self.cluster_year.year
        super().save(*args, **kwargs)


class RoleAssignment(models.Model):
    """
    What a user may do. Unit staff act for their unit; a cluster officer is staff
    of a unit who runs the cluster whenever that unit chairs it (the role moves
    with the chair); a command officer acts for a superior. Administrators are
    Django staff users.
    """

    class Role(models.TextChoices):
        UNIT_STAFF = "unit_staff", _("Unit staff")
        CLUSTER_OFFICER = "cluster_officer", _("Cluster officer")
        COMMAND_OFFICER = "command_officer", _("Command officer")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="roles", verbose_name=_("user")
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    unit = models.ForeignKey(
        Unit, on_delete=models.CASCADE, null=True, blank=True, related_name="staff", verbose_name=_("unit")
    )
    superior = models.ForeignKey(
        Superior,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="officers",
        verbose_name=_("superior command"),
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(role__in=["unit_staff", "cluster_officer"], unit__isnull=False, superior__isnull=True)
                    | Q(role="command_officer", unit__isnull=True, superior__isnull=False)
                ),
                name="clusters_roleassignment_target_matches_role",
                violation_error_message=ROLE_TARGET,
            ),
            models.UniqueConstraint(
                fields=["user", "role", "unit"],
                condition=Q(unit__isnull=False),
                name="clusters_roleassignment_unique_unit_role",
                violation_error_message=_("This user already has this role for this unit."),
            ),
            models.UniqueConstraint(
                fields=["user", "role", "superior"],
                condition=Q(superior__isnull=False),
                name="clusters_roleassignment_unique_superior_role",
                violation_error_message=_("This user already has this role for this superior."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} – {self.get_role_display()} – {self.unit or self.superior}"

    def clean(self) -> None:
        # Inline formsets (the user's roles in the admin) skip check constraints: repeat the rule here.
        on_unit = self.role in (self.Role.UNIT_STAFF, self.Role.CLUSTER_OFFICER)
        if self.role and (on_unit != bool(self.unit_id) or on_unit == bool(self.superior_id)):
            raise ValidationError(ROLE_TARGET)


class PhaseChange(models.Model):
    """The trail of a cluster year's phase: who moved it, when and why. Written by ``advance_phase``."""

    cluster_year = models.ForeignKey(
        ClusterYear, on_delete=models.CASCADE, related_name="phase_changes", verbose_name=_("cluster year")
    )
    from_phase = models.CharField(_("from"), max_length=20, choices=ClusterYear.Phase.choices)
    to_phase = models.CharField(_("to"), max_length=20, choices=ClusterYear.Phase.choices)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("changed by")
    )
    changed_at = models.DateTimeField(_("changed at"))
    reason = models.TextField(_("reason"), blank=True)

    class Meta:
        ordering = ["cluster_year", "changed_at", "pk"]
        verbose_name = _("phase change")
        verbose_name_plural = _("phase changes")

    def __str__(self) -> str:
        return f"{self.cluster_year}: {self.from_phase} → {self.to_phase}"


class AuditEvent(models.Model):
    """
    One security-relevant action for the administrator's audit log: who did
    what to which object, why, when and from where. Rows are only added, by
    ``clusters.audit.record`` inside the action's own transaction; the admin
    shows them read-only.

    The key is random rather than a sequence, and a ballot's row carries the
    round's opening time rather than the moment it was cast: the log tells
    that a unit voted, never when among the others or how.
    """

    class Action(models.TextChoices):
        LOGIN = "login", _("Logged in")
        LOGOUT = "logout", _("Logged out")
        LOGIN_FAILED = "login_failed", _("Failed login")
        LOCKED_OUT = "locked_out", _("Locked out after repeated failed logins")
        ACCOUNT_CREATED = "account_created", _("Account created")
        ACCOUNT_CHANGED = "account_changed", _("Account status changed")
        ACCOUNT_DELETED = "account_deleted", _("Account deleted")
        PASSWORD_CHANGED = "password_changed", _("Password changed")
        PERMISSIONS_CHANGED = "permissions_changed", _("Groups or permissions changed")
        ROLE_GRANTED = "role_granted", _("Role granted")
        ROLE_CHANGED = "role_changed", _("Role changed")
        ROLE_REVOKED = "role_revoked", _("Role revoked")
        PHASE_CHANGED = "phase_changed", _("Phase changed")
        SCORING_CLOSED = "scoring_closed", _("Scoring closed")
        POINTS_AMENDED = "points_amended", _("Official points amended")
        VOTE_OPENED = "vote_opened", _("Vote round opened")
        BALLOT_CAST = "ballot_cast", _("Ballot cast")
        PAPER_TALLY = "paper_tally", _("Paper tally recorded")
        VOTE_CLOSED = "vote_closed", _("Vote round closed")
        SUPERIOR_DECISION = "superior_decision", _("Superior's decision on the leader")
        AWARD_DECIDED = "award_decided", _("Award decision recorded")
        AWARD_REVOKED = "award_revoked", _("Award decision revoked")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    when = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    actor_name = models.CharField(_("actor's username"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=30, choices=Action.choices, db_index=True)
    target_type = models.ForeignKey(
        ContentType,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("target type"),
    )
    target_id = models.CharField(_("target id"), max_length=64, blank=True)
    target_repr = models.CharField(_("target"), max_length=300, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    class Meta:
        ordering = ["-when"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit log")

    def __str__(self) -> str:
        return " ".join(filter(None, [self.actor_name, str(self.get_action_display()), self.target_repr]))
