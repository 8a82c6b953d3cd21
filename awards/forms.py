from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from clusters.models import Unit

from .models import OpenChoice, Vote


class ModelIdsField(forms.ModelMultipleChoiceField):
    """
    Refuses an id beyond the database's 64-bit integers as an unknown choice:
    Django looks the ids up with ``pk__in``, which SQLite cannot even bind.
    """

    def _check_values(self, value):
        for pk in value:
            try:
                number = int(pk)
            except (TypeError, ValueError):
                continue  # not a number at all: Django refuses it itself
            if not -(2**63) <= number < 2**63:
                raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice",
                                      params={"value": pk})
        return super()._check_values(value)


class PrepareVoteForm(forms.Form):
    mode = forms.ChoiceField(label=_("Voting"), choices=Vote.Mode.choices, initial=Vote.Mode.ELECTRONIC)
    present = ModelIdsField(
        label=_("Members present"), queryset=Unit.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )
    extra = forms.ModelChoiceField(label=_("Add a candidate"), queryset=Unit.objects.none(), required=False)
    extra_reason = forms.CharField(label=_("Why the conference adds it"), max_length=500, required=False)

    def __init__(self, *args, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["present"].queryset = members
        self.fields["present"].initial = list(members)
        self.fields["extra"].queryset = members

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("extra") and not cleaned.get("extra_reason", "").strip():
            self.add_error("extra_reason", _("Give the reason for adding this candidate."))
        return cleaned


class BallotForm(forms.Form):
    """One choice per candidate, named ``candidate_<id>``."""

    def __init__(self, *args, candidates, **kwargs):
        super().__init__(*args, **kwargs)
        for candidate in candidates:
            self.fields[f"candidate_{candidate.pk}"] = forms.ChoiceField(
                label=candidate.unit.name, choices=OpenChoice.Choice.choices, widget=forms.RadioSelect
            )

    def choices(self) -> dict[int, str]:
        return {int(name.split("_", 1)[1]): value for name, value in self.cleaned_data.items()}


class PaperTallyForm(forms.Form):
    issued = forms.IntegerField(label=_("Ballots issued"), min_value=0, max_value=1000)
    returned = forms.IntegerField(label=_("Ballots returned"), min_value=0, max_value=1000)

    def __init__(self, *args, candidates, **kwargs):
        super().__init__(*args, **kwargs)
        self.candidates = list(candidates)
        for c in self.candidates:
            for kind, label in (("agree", _("agree")), ("disagree", _("disagree")), ("blank", _("blank"))):
                self.fields[f"{kind}_{c.pk}"] = forms.IntegerField(label=f"{c.unit.name}: {label}", min_value=0,
                                                                   max_value=1000, initial=0)

    def tallies(self) -> dict[int, tuple[int, int, int]]:
        data = self.cleaned_data
        return {c.pk: (data[f"agree_{c.pk}"], data[f"disagree_{c.pk}"], data[f"blank_{c.pk}"]) for c in self.candidates}


class RunoffForm(forms.Form):
    reason = forms.CharField(label=_("Reason of the new round"), max_length=500)


class SuperiorDecisionForm(forms.Form):
    unit = forms.ModelChoiceField(label=_("Unit chosen by the superior"), queryset=Unit.objects.none())
    number = forms.CharField(label=_("Decision number"), max_length=50)
    date = forms.DateField(label=_("Decision date"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, candidates, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = Unit.objects.filter(pk__in=[c.unit_id for c in candidates])


class FinishConferenceForm(forms.Form):
    held_on = forms.DateField(label=_("Date of the conference"), widget=forms.DateInput(attrs={"type": "date"}))
    place = forms.CharField(label=_("Place"), max_length=200)
    presiding = forms.CharField(label=_("Presiding officer"), max_length=200)
    chair = forms.ModelChoiceField(label=_("Next chair (only to override the policy)"), queryset=Unit.objects.none(),
                                   required=False)
    vice_chair = forms.ModelChoiceField(label=_("Next vice chair (only to override the policy)"),
                                        queryset=Unit.objects.none(), required=False)
    override_reason = forms.CharField(label=_("Why the policy's choice is overridden"), max_length=1000,
                                      required=False, widget=forms.Textarea(attrs={"rows": 2}))
    decision_number = forms.CharField(label=_("Superior's decision number"), max_length=50, required=False)
    decision_date = forms.DateField(label=_("Superior's decision date"), required=False,
                                    widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["chair"].queryset = members
        self.fields["vice_chair"].queryset = members


class AddProposalForm(forms.Form):
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=Unit.objects.none())
    award = forms.ModelChoiceField(label=_("Award"), queryset=None)
    reason = forms.CharField(label=_("Reason"), max_length=500)

    def __init__(self, *args, members, awards, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = members
        self.fields["award"].queryset = awards


class WithdrawForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500)


class DecisionForm(forms.Form):
    number = forms.CharField(label=_("Decision number"), max_length=50, help_text=_("For example 231/QĐ-BTL."))
    date = forms.DateField(label=_("Decision date"), widget=forms.DateInput(attrs={"type": "date"}))
    authority = forms.CharField(label=_("Issuing authority"), max_length=200)
    signer = forms.CharField(label=_("Signer"), max_length=200)
    scan = forms.FileField(label=_("Scan of the decision"), required=False)
    proposals = ModelIdsField(label=_("Proposals granted"), queryset=None,
                                               widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, proposals, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["proposals"].queryset = proposals
        self.fields["proposals"].label_from_instance = lambda p: f"{p.cluster_year.cluster.name}: {p.unit.name} – {p.award_type.name}"

    def clean_scan(self):
        scan = self.cleaned_data.get("scan")
        if scan:
            from scoring.validators import validate_evidence_file

            validate_evidence_file(scan)
        return scan


class RevokeForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=1000)
