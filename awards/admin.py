"""
The conference in the admin: the cluster's vote rules (inline on the cluster),
votes and conferences to read, and the steps of the conference as actions on
the cluster-year list, through the same services, with a confirmation page.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clusters import admin as cluster_admin
from clusters.models import Cluster, ClusterYear
from scoring import admin as scoring_admin

from . import services
from .models import AwardType, Conference, Decision, Proposal, Vote, VoteRules


class VoteRulesInline(admin.StackedInline):
    model = VoteRules
    max_num = 1
    can_delete = False


admin.site.unregister(Cluster)


@admin.register(Cluster)
class ClusterAdmin(cluster_admin.ClusterAdmin):
    inlines = [*cluster_admin.ClusterAdmin.inlines, VoteRulesInline]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Votes and conferences change only through the conference's services."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Vote)
class VoteAdmin(ReadOnlyAdmin):
    list_display = ["cluster_year", "round", "status", "mode", "outcome", "leader"]
    list_filter = ["status", "outcome", "cluster_year__year"]
    search_fields = ["cluster_year__cluster__name", "leader__name"]
    list_select_related = ["cluster_year__cluster", "leader"]


@admin.register(Conference)
class ConferenceAdmin(ReadOnlyAdmin):
    list_display = ["cluster_year", "held_on", "place", "leader", "next_chair", "chair_basis"]
    list_filter = ["held_on"]
    search_fields = ["cluster_year__cluster__name", "place"]
    list_select_related = ["cluster_year__cluster", "leader", "next_chair"]


@admin.action(description=_("Close the open vote round and record the leader"))
def close_open_vote(modeladmin, request, queryset):
    for cluster_year in queryset.select_related("cluster"):
        vote = cluster_year.votes.filter(status=Vote.Status.OPEN).first()
        if vote is None:
            modeladmin.message_user(request, f"{cluster_year}: {NO_OPEN_ROUND}", messages.ERROR)
            continue
        vote = services.close_vote(vote=vote, by=request.user, now=timezone.now())
        modeladmin.message_user(request, f"{cluster_year}: {vote.get_outcome_display()}", messages.SUCCESS)


class FinishForm(forms.Form):
    held_on = forms.DateField(label=_("Date of the conference"), widget=forms.DateInput(attrs={"type": "date"}))
    place = forms.CharField(label=_("Place"), max_length=200)
    presiding = forms.CharField(label=_("Presiding officer"), max_length=200)


@admin.action(description=_("Finish the conference and rotate the chair"))
def finish_conference(modeladmin, request, queryset):
    """Shows each year's next chair by its policy and asks for the conference's date; then finishes each year."""
    queryset = queryset.select_related("cluster")
    form = FinishForm(request.POST if request.POST.get("confirm") == "yes" else None)
    if not form.is_valid():
        context = {
            **modeladmin.admin_site.each_context(request),
            "title": _("Finish the conference and rotate the chair"),
            "previews": [(cy, services.policy_choice(cy, services.decided_leader(cy))) for cy in queryset],
            "selected": [cy.pk for cy in queryset],
            "form": form,
            "opts": modeladmin.model._meta,
        }
        return TemplateResponse(request, "admin/awards/finish_conference_confirm.html", context)
    for cluster_year in queryset:
        try:
            next_year = services.finish_conference(cluster_year=cluster_year, by=request.user, now=timezone.now(),
                                                   **form.cleaned_data)
        except ValidationError as error:
            modeladmin.message_user(request, f"{cluster_year}: {' '.join(error.messages)}", messages.ERROR)
        else:
            modeladmin.message_user(request, f"{cluster_year}: {FINISHED % {'year': next_year}}", messages.SUCCESS)
    return None


NO_OPEN_ROUND = _("no open round of the vote.")
FINISHED = _("conference finished; %(year)s is open.")

admin.site.unregister(ClusterYear)


@admin.register(ClusterYear)
class ClusterYearAdmin(scoring_admin.ClusterYearAdmin):
    actions = [*scoring_admin.ClusterYearAdmin.actions, close_open_vote, finish_conference]


@admin.register(AwardType)
class AwardTypeAdmin(admin.ModelAdmin):
    """The catalogue is data: administrators keep it in step with the regulations."""

    list_display = ["position", "name", "kind", "authority", "quota_count", "quota_percent", "quota_scope", "min_band",
                    "requires_leader"]
    list_display_links = ["name"]
    list_filter = ["kind", "quota_scope", "requires_leader"]
    search_fields = ["name", "code", "authority", "source"]
    filter_horizontal = ["requires_same_year"]


@admin.register(Proposal)
class ProposalAdmin(ReadOnlyAdmin):
    list_display = ["cluster_year", "unit", "award_type", "withdrawn_at"]
    list_filter = ["award_type", "cluster_year__year"]
    search_fields = ["unit__name", "cluster_year__cluster__name"]
    list_select_related = ["cluster_year__cluster", "unit", "award_type"]


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin):
    list_display = ["number", "date", "superior", "year", "revoked_at"]
    list_filter = ["superior", "year"]
    search_fields = ["number", "signer"]
