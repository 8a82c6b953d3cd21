from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clusters.models import ClusterYear, Unit
from clusters.permissions import cluster_years_visible_to

from . import excel, permissions, selectors, services
from .forms import ReopenForm, ReviewForm, SheetForm, UploadForm
from .models import Evidence


def _sheet_access(request: HttpRequest, cluster_year_pk: int, unit_pk: int) -> tuple[ClusterYear, Unit]:
    """The cluster year and member unit of a sheet the user may see; 404 for anything else."""
    cluster_year = get_object_or_404(
        cluster_years_visible_to(request.user).select_related("cluster__superior"), pk=cluster_year_pk
    )
    unit = get_object_or_404(Unit.objects.filter(memberships__cluster_year=cluster_year), pk=unit_pk)
    if not permissions.can_view_sheet(request.user, cluster_year, unit):
        raise Http404
    return cluster_year, unit


def _sheet_url(cluster_year: ClusterYear, unit: Unit, name: str = "scoring:sheet") -> str:
    return reverse(name, args=[cluster_year.pk, unit.pk])


def _page(request, cluster_year, unit, *, form=None, status=200, conflict=None, upload_errors=None):
    criteria_set = selectors.criteria_set_of(cluster_year)
    sheet = selectors.sheet_with_totals(cluster_year, unit)
    rows = selectors.sheet_rows(criteria_set, sheet) if criteria_set else []
    today = timezone.localdate()
    can_fill = permissions.can_fill_sheet(request.user, unit) and services.is_open_for_unit(cluster_year, sheet, today)
    if can_fill and form is None:
        form = SheetForm(criteria=[r.criterion for r in rows], sheet=sheet, evidence=[e for r in rows for e in r.evidence])
    return render(
        request,
        "scoring/sheet_detail.html",
        {
            "cluster_year": cluster_year,
            "unit": unit,
            "criteria_set": criteria_set,
            "sheet": sheet,
            "rows": rows,
            "form": form if can_fill else None,
            "conflict": conflict,
            "upload_form": UploadForm(initial={"version": sheet.version if sheet else 0}) if can_fill else None,
            "upload_errors": upload_errors,
            "can_review": sheet is not None and permissions.can_review(request.user, cluster_year, unit),
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@login_required
def sheet_detail(request: HttpRequest, cluster_year_pk: int, unit_pk: int) -> HttpResponse:
    """The unit's sheet: filled by its staff while open, read (with lineage) by everyone who may see it."""
    cluster_year, unit = _sheet_access(request, cluster_year_pk, unit_pk)
    if request.method == "GET":
        return _page(request, cluster_year, unit)
    sheet = selectors.sheet_with_totals(cluster_year, unit)
    now, today = timezone.now(), timezone.localdate()
    if not (permissions.can_fill_sheet(request.user, unit) and services.is_open_for_unit(cluster_year, sheet, today)):
        raise PermissionDenied
    criteria_set = selectors.criteria_set_of(cluster_year)
    rows = selectors.sheet_rows(criteria_set, sheet)
    form = SheetForm(request.POST, request.FILES, criteria=[r.criterion for r in rows], sheet=sheet,
                     evidence=[e for r in rows for e in r.evidence])
    if not form.is_valid():
        return _page(request, cluster_year, unit, form=form)
    try:
        sheet = services.save_self_assessment(
            cluster_year=cluster_year, unit=unit, entries=form.entries(), remove_evidence=form.removed(),
            version=form.cleaned_data["version"], by=request.user, now=now, today=today,
        )
    except services.SheetConflict as conflict:
        return _conflict(request, cluster_year, unit, form, conflict)
    except ValidationError as error:
        _add_errors(form, error)
        return _page(request, cluster_year, unit, form=form)
    if "submit" not in request.POST:
        messages.success(request, _("The sheet was saved as a draft."))
        return redirect(_sheet_url(cluster_year, unit))
    try:
        services.submit_sheet(cluster_year=cluster_year, unit=unit, version=sheet.version, by=request.user,
                              now=now, today=today)
    except ValidationError as error:
        messages.warning(request, _("The sheet was saved as a draft but not submitted: complete it first."))
        data = request.POST.copy()
        data["version"] = sheet.version
        data.setlist("remove_evidence", [])  # already removed by the save above
        form = SheetForm(data, criteria=form.leaves, sheet=sheet, evidence=[])
        form.is_valid()
        _add_errors(form, error)
        return _page(request, cluster_year, unit, form=form)
    messages.success(request, _("The sheet was submitted to the cluster."))
    return redirect(_sheet_url(cluster_year, unit))


def _add_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


def _conflict(request, cluster_year, unit, form, conflict: services.SheetConflict) -> HttpResponse:
    """Show the user's input beside the saved version; the next save knowingly replaces it."""
    data = form.data.copy()
    data["version"] = conflict.sheet.version
    live = Evidence.objects.filter(score__sheet=conflict.sheet, removed_at__isnull=True)
    form = SheetForm(data, criteria=form.leaves, sheet=conflict.sheet, evidence=list(live))
    form.is_valid()
    messages.error(request, conflict.messages[0])
    return _page(request, cluster_year, unit, form=form, status=409, conflict=True)


@require_http_methods(["GET", "POST"])
@login_required
def sheet_review(request: HttpRequest, cluster_year_pk: int, unit_pk: int) -> HttpResponse:
    """The reviewer's page: official points with reasons, accept, return with comments, approve."""
    cluster_year, unit = _sheet_access(request, cluster_year_pk, unit_pk)
    if not permissions.can_review(request.user, cluster_year, unit):
        raise PermissionDenied
    sheet = selectors.sheet_with_totals(cluster_year, unit)
    if sheet is None:
        raise Http404
    rows = selectors.sheet_rows(sheet.criteria_set, sheet)
    criteria = [r.criterion for r in rows]
    form = ReviewForm(request.POST or None, criteria=criteria, sheet=sheet)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            services.review_sheet(sheet=sheet, by=request.user, now=timezone.now(), **form.service_kwargs())
        except ValidationError as error:
            status = 409 if isinstance(error, services.SheetConflict) else 200
            _add_errors(form, error)
        else:
            messages.success(request, _("The review was saved."))
            return redirect(_sheet_url(cluster_year, unit, "scoring:sheet-review"))
    context = {
        "cluster_year": cluster_year, "unit": unit, "sheet": sheet, "rows": rows, "form": form,
        "reopen_form": ReopenForm(),
    }
    return render(request, "scoring/sheet_review.html", context, status=status)


@require_POST
@login_required
def sheet_reopen(request: HttpRequest, cluster_year_pk: int, unit_pk: int) -> HttpResponse:
    cluster_year, unit = _sheet_access(request, cluster_year_pk, unit_pk)
    if not permissions.can_review(request.user, cluster_year, unit):
        raise PermissionDenied
    sheet = get_object_or_404(cluster_year.sheets, unit=unit)
    form = ReopenForm(request.POST)
    if form.is_valid():
        try:
            services.reopen_sheet(sheet=sheet, by=request.user, now=timezone.now(), **form.cleaned_data)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("The sheet is open to the unit again."))
    else:
        messages.error(request, _("Give the date and the reason to reopen the sheet."))
    return redirect(_sheet_url(cluster_year, unit, "scoring:sheet-review"))


@require_GET
@login_required
def review_list(request: HttpRequest, cluster_year_pk: int) -> HttpResponse:
    cluster_year = get_object_or_404(
        cluster_years_visible_to(request.user).select_related("cluster__superior"), pk=cluster_year_pk
    )
    if not permissions.can_list_sheets(request.user, cluster_year):
        raise PermissionDenied
    return render(
        request,
        "scoring/review_list.html",
        {"cluster_year": cluster_year, "entries": selectors.review_list(cluster_year)},
    )


@require_GET
@login_required
def evidence_download(request: HttpRequest, pk: int) -> FileResponse:
    """Evidence is served only here, to those who may see the sheet, always as an attachment."""
    evidence = get_object_or_404(Evidence.objects.select_related("score__sheet__cluster_year__cluster", "score__sheet__unit"), pk=pk)
    sheet = evidence.score.sheet
    visible = cluster_years_visible_to(request.user).filter(pk=sheet.cluster_year_id).exists()
    if not visible or not permissions.can_view_sheet(request.user, sheet.cluster_year, sheet.unit):
        raise Http404
    return FileResponse(evidence.file.open("rb"), as_attachment=True, filename=evidence.original_name)


@require_GET
@login_required
def sheet_export(request: HttpRequest, cluster_year_pk: int, unit_pk: int) -> HttpResponse:
    cluster_year, unit = _sheet_access(request, cluster_year_pk, unit_pk)
    if selectors.criteria_set_of(cluster_year) is None:
        raise Http404
    content = excel.export_sheet(cluster_year=cluster_year, unit=unit)
    response = HttpResponse(content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    filename = f"phieu-cham-diem-{cluster_year.year}-{unit.pk}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_POST
@login_required
def sheet_import(request: HttpRequest, cluster_year_pk: int, unit_pk: int) -> HttpResponse:
    cluster_year, unit = _sheet_access(request, cluster_year_pk, unit_pk)
    sheet = selectors.sheet_with_totals(cluster_year, unit)
    today = timezone.localdate()
    if not (permissions.can_fill_sheet(request.user, unit) and services.is_open_for_unit(cluster_year, sheet, today)):
        raise PermissionDenied
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, cluster_year, unit, upload_errors=[e for errors in form.errors.values() for e in errors])
    try:
        entries = excel.read_upload(file=form.cleaned_data["file"], cluster_year=cluster_year, unit=unit)
        services.save_self_assessment(
            cluster_year=cluster_year, unit=unit, entries=entries, version=form.cleaned_data["version"],
            by=request.user, now=timezone.now(), today=today, reason=_("Imported from an Excel file"),
        )
    except ValidationError as error:
        return _page(request, cluster_year, unit, upload_errors=error.messages, status=409 if isinstance(error, services.SheetConflict) else 200)
    messages.success(request, _("The Excel file was imported; check the points and submit."))
    return redirect(_sheet_url(cluster_year, unit))
