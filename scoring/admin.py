"""
Criteria sets in the admin: the tree in code order with its maxima, the sum of
the standard maxima against the declared scale, clone to next year, and no edit
once a cluster year using the set has started scoring.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from clusters import admin as cluster_admin
from clusters.models import ClusterYear, Membership

from . import ranking, services
from .models import ClusterYearSet, CriteriaSet, Criterion, Sheet
from .validators import format_points

TALLY = _("%(year)s: provisional leader %(leaders)s; %(approved)s sheets approved, %(pending)s members pending.")
CLOSED = _("scoring closed, results frozen (checksum %(checksum)s).")
SCALE_MISMATCH = _("The standard maxima add up to %(total)s, not the declared scale of %(scale)s.")


class CriterionFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        rows = [
            (f.cleaned_data["code"], f.cleaned_data["kind"], f.cleaned_data.get("max_points"))
            for f in self.forms
            if f.cleaned_data and not f.cleaned_data.get("DELETE") and f.cleaned_data.get("code")
        ]
        errors = services.tree_errors(rows)
        if errors:
            raise ValidationError(list(errors.values()))


class CriterionInline(cluster_admin.LockedWithParentInline, admin.TabularInline):
    model = Criterion
    formset = CriterionFormSet
    extra = 1
    fields = ["code", "title", "kind", "max_points", "evidence_required", "guidance"]
    ordering = ["sort_key"]

    def _editable(self, obj) -> bool:
        return obj is None or not obj.is_locked


class ClusterYearSetInline(admin.TabularInline):
    model = ClusterYearSet
    extra = 0
    fields = ["cluster_year"]
    readonly_fields = ["cluster_year"]
    can_delete = False
    verbose_name_plural = _("used by")

    def has_add_permission(self, request, obj=None):
        return False


@admin.action(description=_("Clone to the next year"))
def clone_to_next_year(modeladmin, request, queryset):
    for criteria_set in queryset:
        try:
            clone = services.clone_criteria_set(source=criteria_set, year=criteria_set.year + 1)
        except ValidationError as error:
            modeladmin.message_user(request, " ".join(error.messages), messages.ERROR)
        else:
            modeladmin.message_user(request, str(clone), messages.SUCCESS)


@admin.register(CriteriaSet)
class CriteriaSetAdmin(admin.ModelAdmin):
    list_display = ["name", "superior", "year", "scale", "standard_total", "locked"]
    list_filter = ["superior", "year"]
    search_fields = ["name", "superior__name"]
    list_select_related = ["superior"]
    inlines = [CriterionInline, ClusterYearSetInline]
    actions = [clone_to_next_year]
    readonly_fields = ["standard_total", "cloned_from"]
    fields = ["superior", "year", "name", "scale", "bonus_cap", "deduction_cap", "standard_total", "cloned_from"]

    @admin.display(description=_("sum of the standard maxima"))
    def standard_total(self, obj: CriteriaSet) -> str:
        if obj.pk is None:
            return "—"
        total = services.standard_total(obj)
        if total != obj.scale:
            return format_html('<strong class="errornote">{}</strong>', SCALE_MISMATCH % {
                "total": format_points(total), "scale": format_points(obj.scale)})
        return format_points(total)

    @admin.display(boolean=True, description=_("locked"))
    def locked(self, obj: CriteriaSet) -> bool:
        return obj.is_locked

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_locked:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.cluster_years.exists():
            return False
        return super().has_delete_permission(request, obj)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.rebuild_tree(form.instance)
        total = services.standard_total(form.instance)
        if total != form.instance.scale:
            messages.warning(request, SCALE_MISMATCH % {
                "total": format_points(total), "scale": format_points(form.instance.scale)})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        if obj is not None and request.method == "GET":
            total = services.standard_total(obj)
            if total != obj.scale:
                messages.warning(request, SCALE_MISMATCH % {"total": format_points(total), "scale": format_points(obj.scale)})
        return super().change_view(request, object_id, form_url, extra_context)


class ClusterYearSetForm(forms.ModelForm):
    class Meta:
        model = ClusterYearSet
        fields = ["cluster_year", "criteria_set"]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("cluster_year") and cleaned.get("criteria_set"):
            services.check_attachable(cleaned["cluster_year"], cleaned["criteria_set"])
        return cleaned


@admin.register(ClusterYearSet)
class ClusterYearSetAdmin(admin.ModelAdmin):
    form = ClusterYearSetForm
    list_display = ["cluster_year", "criteria_set"]
    list_filter = ["cluster_year__year", "cluster_year__cluster__superior"]
    search_fields = ["cluster_year__cluster__name", "criteria_set__name"]
    list_select_related = ["cluster_year__cluster", "criteria_set"]
    autocomplete_fields = ["criteria_set", "cluster_year"]

    def save_model(self, request, obj, form, change):
        # Through the service: it refuses a year that has started scoring or a set of another superior.
        services.attach_criteria_set(cluster_year=obj.cluster_year, criteria_set=obj.criteria_set)

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.cluster_year.phase != "planning":
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        # Detaching the set would change a year that has started scoring (or a closed one).
        if obj is not None and obj.cluster_year.phase != "planning":
            return False
        return super().has_delete_permission(request, obj)


@admin.register(Sheet)
class SheetAdmin(admin.ModelAdmin):
    """Read-only: sheets change only through the unit's and the reviewer's pages."""

    list_display = ["unit", "cluster_year", "status", "version", "submitted_at", "approved_at"]
    list_filter = ["status", "cluster_year__year", "cluster_year__cluster"]
    search_fields = ["unit__name", "cluster_year__cluster__name"]
    list_select_related = ["unit", "cluster_year__cluster"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- the cluster year page gains its criteria set (scoring sits above clusters) ---------------


class CriteriaLinkFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        cluster_year = self.instance  # the cluster year being edited (maybe not saved yet)
        for form in self.forms:
            criteria_set = form.cleaned_data.get("criteria_set") if form.cleaned_data else None
            if criteria_set and cluster_year.cluster_id and criteria_set.superior_id != cluster_year.cluster.superior_id:
                form.add_error("criteria_set", services.SET_OTHER_SUPERIOR)


class CriteriaLinkInline(cluster_admin.LockedWithParentInline, admin.StackedInline):
    model = ClusterYearSet
    formset = CriteriaLinkFormSet
    fields = ["criteria_set"]
    max_num = 1
    can_delete = False
    verbose_name = verbose_name_plural = _("criteria set")
    autocomplete_fields = ["criteria_set"]

    def _editable(self, obj) -> bool:
        return obj is None or obj.phase == ClusterYear.Phase.PLANNING


@admin.action(description=_("Open the next year with the same members, chair and criteria"))
def open_next_year(modeladmin, request, queryset):
    for cluster_year in queryset.select_related("cluster"):
        roles = {m.role: m.unit for m in cluster_year.memberships.select_related("unit")}
        try:
            created = services.open_next_year(
                cluster_year=cluster_year,
                chair=roles[Membership.Role.CHAIR],
                vice_chair=roles.get(Membership.Role.VICE_CHAIR),
                by=request.user,
            )
        except ValidationError as error:
            modeladmin.message_user(request, f"{cluster_year}: {' '.join(error.messages)}", messages.ERROR)
        else:
            modeladmin.message_user(request, str(created), messages.SUCCESS)


@admin.action(description=_("Show the provisional tally"))
def provisional_tally(modeladmin, request, queryset):
    for cluster_year in queryset.select_related("cluster"):
        result = ranking.live_ranking(cluster_year)
        leaders = ", ".join(f"{row.unit.name} ({format_points(row.total)})" for row in result.rows if row.rank == 1)
        modeladmin.message_user(request, TALLY % {
            "year": cluster_year, "leaders": leaders or "—", "approved": len(result.rows), "pending": result.pending,
        }, messages.INFO)


@admin.action(description=_("Close the scoring (freeze the results)"))
def close_scoring(modeladmin, request, queryset):
    """Asks for confirmation first, then closes each year through the service and says what happened to it."""
    queryset = queryset.select_related("cluster")
    if request.POST.get("confirm") != "yes":
        context = {
            **modeladmin.admin_site.each_context(request),
            "title": _("Close the scoring"),
            "previews": [(cy, ranking.live_ranking(cy)) for cy in queryset],
            "selected": [cy.pk for cy in queryset],
            "opts": modeladmin.model._meta,
        }
        return TemplateResponse(request, "admin/scoring/close_scoring_confirm.html", context)
    for cluster_year in queryset:
        try:
            snapshot = services.close_scoring(cluster_year=cluster_year, by=request.user, now=timezone.now(),
                                              reason=str(_("Closed in the admin")))
        except ValidationError as error:
            modeladmin.message_user(request, f"{cluster_year}: {' '.join(error.messages)}", messages.ERROR)
        else:
            modeladmin.message_user(request, f"{cluster_year}: {CLOSED % {'checksum': snapshot.checksum[:12]}}",
                                    messages.SUCCESS)
    return None


admin.site.unregister(ClusterYear)


@admin.register(ClusterYear)
class ClusterYearAdmin(cluster_admin.ClusterYearAdmin):
    inlines = [*cluster_admin.ClusterYearAdmin.inlines, CriteriaLinkInline]
    actions = [cluster_admin.advance_phase, provisional_tally, close_scoring, open_next_year]
