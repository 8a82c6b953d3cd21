"""
The sheet and review forms: one field per criterion, named ``<what>_<criterion id>``
so that the services' errors (keyed the same way) land next to the right field.
They validate values; the services decide.
"""

import copy
from collections.abc import Iterable
from types import MappingProxyType

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .models import Criterion, Evidence, Sheet
from .services import Decision, Entry
from .validators import format_points, validate_evidence_file, validate_points


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (Django's documented pattern)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"class": "form-control form-control-sm"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)] if data else []


def _points_input() -> forms.CharField:
    return forms.CharField(
        required=False,
        max_length=12,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "class": "form-control form-control-sm points"}),
    )


def _text_input(rows: int = 1) -> forms.CharField:
    return forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": rows, "class": "form-control form-control-sm"}),
    )


def _prototype(field: forms.Field) -> forms.Field:
    """
    A field built once for every form: each form takes a shallow copy (its own field
    object, the prototype's widget), where Django would build or deep-copy a few hundred
    fields per sheet. The widget's attributes are read-only, so no form changes them for
    the others; rendering and validation only read them.
    """
    field.widget.attrs = MappingProxyType(field.widget.attrs)
    return field


# The inputs of a criterion's row (the answer too once the sheet is returned).
_ROW_FIELDS = {
    "points": _prototype(_points_input()),
    "note": _prototype(_text_input()),
    "files": _prototype(MultipleFileField(required=False)),
}
_ANSWER_FIELD = _prototype(_text_input(2))


class SheetForm(forms.Form):
    """The unit's self-assessment: points, note, files (and answer, once returned) per leaf criterion."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)
    remove_evidence = forms.MultipleChoiceField(required=False, choices=())

    def __init__(self, *args, criteria: list[Criterion], sheet: Sheet | None, evidence: Iterable[Evidence], **kwargs):
        """
        ``evidence``: the sheet's live files, the choices of ``remove_evidence``; a queryset
        is read only if the form needs them (files to remove were posted, or the choices are shown).
        """
        self.leaves = [c for c in criteria if not c.is_group]
        self.returned = sheet is not None and sheet.status == Sheet.Status.RETURNED
        super().__init__(*args, initial={"version": sheet.version if sheet is not None else 0}, **kwargs)
        if not self.is_bound:  # a bound form shows what was posted; the saved values are for a blank one
            self.initial.update(self._saved_values(sheet))
        self.fields["remove_evidence"].choices = lambda: [(str(e.pk), e.original_name) for e in evidence]
        fields = self.fields
        for criterion in self.leaves:
            pk = criterion.pk
            for name, prototype in _ROW_FIELDS.items():
                fields[f"{name}_{pk}"] = copy.copy(prototype)
            if self.returned:
                fields[f"answer_{pk}"] = copy.copy(_ANSWER_FIELD)
        self.criteria_by_pk = {c.pk: c for c in self.leaves}

    def _saved_values(self, sheet: Sheet | None) -> dict:
        scores = {s.criterion_id: s for s in sheet.scores.order_by()} if sheet is not None else {}
        initial = {}
        for criterion in self.leaves:
            score = scores.get(criterion.pk)
            initial[f"points_{criterion.pk}"] = format_points(score.self_points) if score else ""
            initial[f"note_{criterion.pk}"] = score.note if score else ""
            initial[f"answer_{criterion.pk}"] = score.answer if score else ""
        return initial

    def clean(self):
        cleaned = super().clean()
        for criterion in self.leaves:
            name = f"points_{criterion.pk}"
            if name in cleaned:
                try:
                    validate_points(criterion, cleaned[name])
                except ValidationError as error:
                    self.add_error(name, error)
            for upload in cleaned.get(f"files_{criterion.pk}") or []:
                try:
                    validate_evidence_file(upload)
                except ValidationError as error:
                    self.add_error(f"files_{criterion.pk}", error)
        return cleaned

    def entries(self) -> dict[int, Entry]:
        data = self.cleaned_data
        return {
            c.pk: Entry(
                points=data.get(f"points_{c.pk}", ""),
                note=data.get(f"note_{c.pk}", "").strip(),
                answer=data.get(f"answer_{c.pk}", "").strip() if self.returned else None,
                files=data.get(f"files_{c.pk}") or [],
            )
            for c in self.leaves
        }

    def removed(self) -> set[int]:
        return {int(pk) for pk in self.cleaned_data.get("remove_evidence", [])}


class ReviewForm(forms.Form):
    """The reviewer's page: official points, reason and comment per criterion, and the message of a return."""

    ACTIONS = {"save", "accept_rest", "return", "approve"}

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)
    message = forms.CharField(
        label=_("Message to the unit"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    action = forms.CharField(max_length=30)

    def __init__(self, *args, criteria: list[Criterion], sheet: Sheet, **kwargs):
        self.leaves = [c for c in criteria if not c.is_group]
        scores = {s.criterion_id: s for s in sheet.scores.order_by()}  # a dict: no joins to order
        initial = {"version": sheet.version, "message": sheet.return_message}
        for criterion in self.leaves:
            score = scores.get(criterion.pk)
            initial[f"official_{criterion.pk}"] = format_points(score.official_points) if score else ""
            initial[f"reason_{criterion.pk}"] = score.official_reason if score else ""
            initial[f"comment_{criterion.pk}"] = score.comment if score else ""
        super().__init__(*args, initial=initial, **kwargs)
        for criterion in self.leaves:
            self.fields[f"official_{criterion.pk}"] = _points_input()
            self.fields[f"reason_{criterion.pk}"] = _text_input()
            self.fields[f"comment_{criterion.pk}"] = _text_input()
        self.by_pk = {c.pk: c for c in self.leaves}

    def clean_action(self) -> str:
        action = self.cleaned_data["action"]
        name, _sep, value = action.partition(":")
        # isdigit() alone takes "²" or "١", which int() refuses or reads as another id.
        if action in self.ACTIONS or (name == "accept" and value.isascii() and value.isdigit()
                                      and int(value) in self.by_pk):
            return action
        raise ValidationError(_("Unknown action."))

    def clean(self):
        cleaned = super().clean()
        for criterion in self.leaves:
            name = f"official_{criterion.pk}"
            if name in cleaned:
                try:
                    validate_points(criterion, cleaned[name])
                except ValidationError as error:
                    self.add_error(name, error)
        return cleaned

    def service_kwargs(self) -> dict:
        """The arguments of ``services.review_sheet`` for what was typed and clicked."""
        data = self.cleaned_data
        action = data["action"]
        name, _sep, value = action.partition(":")
        return {
            "version": data["version"],
            "decisions": {
                c.pk: Decision(data[f"official_{c.pk}"], data[f"reason_{c.pk}"])
                for c in self.leaves
                if data.get(f"official_{c.pk}", "").strip()
            },
            "accept": self.by_pk[int(value)] if name == "accept" else None,
            "accept_rest": action == "accept_rest",
            "comments": {c.pk: data[f"comment_{c.pk}"] for c in self.leaves},
            "message": data["message"],
            "outcome": {"return": Sheet.Status.RETURNED, "approve": Sheet.Status.APPROVED}.get(action),
        }


class ReopenForm(forms.Form):
    until = forms.DateField(label=_("Open until"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    reason = forms.CharField(label=_("Reason"), max_length=500)


class UploadForm(forms.Form):
    file = forms.FileField(label=_("Excel file (.xlsx)"))
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)


class CloseScoringForm(forms.Form):
    reason = forms.CharField(
        label=_("Note"), max_length=500, required=False, help_text=_("For example: the year-end conference of 1 November.")
    )
    confirm = forms.BooleanField(
        label=_("I have checked the ranking: freeze the results and move the year to its conference."), required=True
    )


class AmendForm(forms.Form):
    criterion = forms.TypedChoiceField(label=_("Criterion"), coerce=int, choices=())
    points = forms.CharField(label=_("Corrected official points"), max_length=12)
    reason = forms.CharField(label=_("Reason"), max_length=1000, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, criteria: list[Criterion], **kwargs):
        super().__init__(*args, **kwargs)
        self.leaves = {c.pk: c for c in criteria if not c.is_group}
        self.fields["criterion"].choices = [(c.pk, f"{c.code}. {c.title}") for c in self.leaves.values()]

    def clean(self):
        cleaned = super().clean()
        criterion = self.leaves.get(cleaned.get("criterion"))
        if criterion is not None and "points" in cleaned:
            try:
                validate_points(criterion, cleaned["points"])
            except ValidationError as error:
                self.add_error("points", error)
        return cleaned
