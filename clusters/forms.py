from django import forms
from django.utils.translation import gettext_lazy as _

from .models import ClusterYear


class AdvancePhaseForm(forms.Form):
    """Moving a year on: the phase the user saw (to detect a concurrent move) and why."""

    expected_phase = forms.ChoiceField(choices=ClusterYear.Phase.choices, widget=forms.HiddenInput)
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Optional; kept in the year's history."),
    )
