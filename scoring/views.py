from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clusters.models import ClusterYear, Unit
from clusters.permissions import (
    cluster_years_visible_to,
    manages_cluster_year,
    superiors_commanded_by,
    unit_ids_staffed_by,
    units_visible_to,
)
from clusters.selectors import is_number, years_of_superior

from . import charts, excel, exports, permissions, ranking, selectors, services
from .forms import AmendForm, CloseScoringForm, ReopenForm, ReviewForm, SheetForm, UploadForm
from .models import Evidence
from .validators import format_points


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
            "can_amend": sheet is not None and permissions.can_amend(request.user, cluster_year, unit),
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
    # The save needs the criteria and the sheet's status only: the page's rows, totals and trail are
    # read again if it is shown.
    sheet = selectors.sheet_of(cluster_year, unit)
    now, today = timezone.now(), timezone.localdate()
    if not (permissions.can_fill_sheet(request.user, unit) and services.is_open_for_unit(cluster_year, sheet, today)):
        raise PermissionDenied
    form = SheetForm(request.POST, request.FILES, criteria=selectors.leaf_criteria_of(cluster_year), sheet=sheet,
                     evidence=selectors.live_evidence(sheet))
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
    form = SheetForm(data, criteria=form.leaves, sheet=conflict.sheet, evidence=selectors.live_evidence(conflict.sheet))
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
    form = ReviewForm(request.POST if request.method == "POST" else None, criteria=criteria, sheet=sheet)
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


# --- ranking, closing, amendments, exports -----------------------------------------------------


def _ranking_access(request: HttpRequest, cluster_year_pk: int):
    cluster_year = get_object_or_404(
        cluster_years_visible_to(request.user).select_related("cluster__superior"), pk=cluster_year_pk
    )
    result = ranking.ranking_for(cluster_year)
    manages = manages_cluster_year(request.user, cluster_year)
    if not permissions.can_see_ranking(request.user, cluster_year, is_final=result.is_final, manages=manages):
        raise PermissionDenied
    return cluster_year, result, manages


FROZEN_PAGE_SECONDS = 7 * 24 * 60 * 60


def _snapshot_rows(snapshots) -> list[dict]:
    """What the ranking page shows of each snapshot (plain values: a closed year's are kept in the cache)."""
    return [
        {"number": s.number, "created_at": s.created_at, "checksum": s.checksum, "reason": s.reason,
         "is_current": s.is_current, "by": s.created_by.get_full_name() or s.created_by.username}
        for s in snapshots
    ]


@require_GET
@login_required
def ranking_page(request: HttpRequest, cluster_year_pk: int) -> HttpResponse:
    """
    The cluster's ranking: provisional (approved sheets) until scoring is closed, then the frozen
    results. A closed year's page (but its close form) is rendered once per generation of frozen
    rankings (any new snapshot, renamed cluster, unit or user starts a new one:
    ``ranking.frozen_generation``), language and kind of reader (managers link every sheet, unit
    staff their own unit's), then read from the cache.
    """
    cluster_year = get_object_or_404(
        cluster_years_visible_to(request.user).select_related("cluster__superior"), pk=cluster_year_pk
    )
    manages = manages_cluster_year(request.user, cluster_year)
    own = None if manages else set(unit_ids_staffed_by(request.user))
    reader = "all" if own is None else ",".join(map(str, sorted(own)))
    key = f"ranking:frozen:{cluster_year.pk}:{ranking.frozen_generation()}:{get_language()}:{reader}"

    def body(result: ranking.Ranking, snapshots: list, **context) -> str:
        with_sheet = {row.unit.pk for row in result.rows if row.sheet_id}
        rows = _snapshot_rows(snapshots)
        return render_to_string("scoring/_ranking_body.html", {
            "cluster_year": cluster_year, "ranking": result, "snapshots": rows,
            "snapshot": next((r for r in rows if r["is_current"]), None),
            "linkable": with_sheet if own is None else with_sheet & own, **context,
        })

    html = cache.get(key)  # only a closed year's page is ever stored
    if html is None:
        snapshots = ranking.snapshots_of(cluster_year)
        snapshot = next((s for s in snapshots if s.is_current), None)
        if snapshot is not None:  # frozen results: everyone who sees the cluster year
            snapshot.cluster_year = cluster_year
            html = body(ranking.frozen_ranking(snapshot), snapshots)
            cache.set(key, html, FROZEN_PAGE_SECONDS)
        else:
            if not permissions.can_see_ranking(request.user, cluster_year, is_final=False, manages=manages):
                raise PermissionDenied
            result = ranking.live_ranking(cluster_year)
            html = body(result, snapshots, pending_count=result.pending,
                        pending=ranking.pending_members(cluster_year))
    can_close = permissions.can_close_scoring(request.user, cluster_year, manages=manages)
    return render(request, "scoring/ranking.html", {
        "cluster_year": cluster_year,
        "body": mark_safe(html),  # noqa: S308 - rendered by our template, autoescaped
        "close_form": CloseScoringForm() if can_close else None,
    })


@require_POST
@login_required
def close_scoring(request: HttpRequest, cluster_year_pk: int) -> HttpResponse:
    cluster_year = get_object_or_404(
        cluster_years_visible_to(request.user).select_related("cluster"), pk=cluster_year_pk
    )
    if not permissions.can_close_scoring(request.user, cluster_year):
        raise PermissionDenied
    form = CloseScoringForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Tick the confirmation to close the scoring."))
    else:
        try:
            snapshot = services.close_scoring(
                cluster_year=cluster_year, by=request.user, now=timezone.now(), reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("Scoring is closed; the results are frozen (checksum %(checksum)s).")
                             % {"checksum": snapshot.checksum[:12]})
    return redirect("scoring:ranking", cluster_year.pk)


@require_http_methods(["GET", "POST"])
@login_required
def sheet_amend(request: HttpRequest, cluster_year_pk: int, unit_pk: int) -> HttpResponse:
    """A correction after closing: one official score, with its reason; a new snapshot replaces the current one."""
    cluster_year, unit = _sheet_access(request, cluster_year_pk, unit_pk)
    if not permissions.can_amend(request.user, cluster_year, unit):
        raise PermissionDenied
    sheet = get_object_or_404(cluster_year.sheets.select_related("criteria_set"), unit=unit)
    form = AmendForm(request.POST if request.method == "POST" else None, criteria=list(sheet.criteria_set.criteria.all()))
    if request.method == "POST" and form.is_valid():
        try:
            services.amend_official_points(
                sheet=sheet, criterion=form.leaves[form.cleaned_data["criterion"]], points=form.cleaned_data["points"],
                reason=form.cleaned_data["reason"], by=request.user, now=timezone.now(),
            )
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("The score was amended and the results frozen again."))
            return redirect("scoring:ranking", cluster_year.pk)
    return render(request, "scoring/sheet_amend.html", {"cluster_year": cluster_year, "unit": unit, "form": form})


EXPORT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "pdf": "application/pdf",
}


@require_GET
@login_required
def results_export(request: HttpRequest, cluster_year_pk: int, document: str, fmt: str) -> HttpResponse:
    """The ranking or the score summary table as xlsx, csv or PDF, from the same selectors as the pages."""
    if document not in ("ranking", "summary") or fmt not in EXPORT_TYPES:
        raise Http404
    cluster_year, result, _manages = _ranking_access(request, cluster_year_pk)
    source = result if document == "ranking" else exports.summary_table(cluster_year)
    if fmt == "pdf":
        render_pdf = exports.ranking_pdf if document == "ranking" else exports.summary_pdf
        content = render_pdf(source, issued_by=cluster_year.cluster.name, date=timezone.localdate())
    else:
        content = getattr(exports, f"{document}_{fmt}")(source)
    response = HttpResponse(content, content_type=EXPORT_TYPES[fmt])
    name = "xep-hang" if document == "ranking" else "tong-hop-diem"
    response["Content-Disposition"] = f'attachment; filename="{name}-{cluster_year.year}-{cluster_year.pk}.{fmt}"'
    return response


# --- the command's pages and a unit's results across years -------------------------------------


def _superior_and_years(request: HttpRequest):
    """The superior chosen in ?superior= among those the user commands (403 if none), and its years."""
    superiors = superiors_commanded_by(request.user)
    if not superiors.exists():
        raise PermissionDenied
    superior_id = request.GET.get("superior", "")
    superior = get_object_or_404(superiors, pk=superior_id) if is_number(superior_id) else superiors.first()
    return superiors, superior, years_of_superior(superior)


def _year_param(request: HttpRequest, name: str, default: int | None) -> int | None:
    value = request.GET.get(name, "")
    return int(value) if is_number(value) and 2000 <= int(value) <= 2100 else default


@require_GET
@login_required
def overview(request: HttpRequest) -> HttpResponse:
    """Every cluster of a superior in a year: members, chair, phase, progress, leader, bands; all units."""
    superiors, superior, years = _superior_and_years(request)
    year = _year_param(request, "year", years[0] if years else None)
    if year is not None and year not in years:
        years = sorted([*years, year], reverse=True)
    context = {"superior": superior, "superiors": superiors, "year": year, "years": years,
               "summaries": [], "units": [], "bands": []}
    if year:
        result = ranking.command_overview(
            superior=superior, year=year, page=request.GET.get("page"), units_page=request.GET.get("units_page")
        )
        context.update(summaries=result.summaries, units=result.units, bands=result.bands,
                       scoring_open=result.scoring_open, close_form=CloseScoringForm())
    return render(request, "scoring/overview.html", context)


NOTHING_TO_CLOSE = gettext_lazy(
    "No cluster year is ready to close: every member's sheet must be approved and the scoring not yet closed."
)


@require_POST
@login_required
def overview_close_scoring(request: HttpRequest) -> HttpResponse:
    """The command closes the scoring of every ready cluster year of its superior's year in one step."""
    _superiors, superior, years = _superior_and_years(request)
    year = _year_param(request, "year", None)
    if year is None or year not in years:
        raise Http404
    form = CloseScoringForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Tick the confirmation to close the scoring."))
    else:
        snapshots = services.close_scoring_year(
            superior=superior, year=year, by=request.user, now=timezone.now(), reason=form.cleaned_data["reason"]
        )
        if snapshots:
            messages.success(request, _("Scoring is closed for %(count)s cluster years; their results are frozen.")
                             % {"count": len(snapshots)})
        else:
            messages.warning(request, NOTHING_TO_CLOSE)
    return redirect(f"{reverse('scoring:overview')}?superior={superior.pk}&year={year}")


@require_GET
@login_required
def overview_export(request: HttpRequest) -> FileResponse:
    """The score summary of every unit of the superior in a year as one .xlsx, streamed from a temporary file."""
    _superiors, superior, years = _superior_and_years(request)
    year = _year_param(request, "year", years[0] if years else None)
    if year is None or year not in years:
        raise Http404
    content = exports.command_summary_xlsx(superior=superior, year=year)
    return FileResponse(content, as_attachment=True, filename=f"tong-hop-diem-{year}-toan-don-vi.xlsx",
                        content_type=EXPORT_TYPES["xlsx"])


@require_GET
@login_required
def period(request: HttpRequest) -> HttpResponse:
    """A span of years (the five-year congress period by default): ranks, totals and bands per unit and cluster."""
    superiors, superior, years = _superior_and_years(request)
    last = _year_param(request, "to", years[0] if years else timezone.localdate().year)
    first = _year_param(request, "from", last - 4)
    first, last = min(first, last), max(first, last)
    span = list(range(first, last + 1))
    table = selectors.period_table(selectors.period_results(superior, first, last), span)
    context = {"superior": superior, "superiors": superiors, "first": first, "last": last, "span": span, **table}
    return render(request, "scoring/period.html", context)


@require_GET
@login_required
def unit_results(request: HttpRequest, unit_pk: int) -> HttpResponse:
    """A unit's totals, ranks and bands across years as charts, and where it gained or lost most."""
    unit = get_object_or_404(units_visible_to(request.user).select_related("superior"), pk=unit_pk)
    results = list(selectors.unit_results(unit))
    series = [(str(r.snapshot.cluster_year.year), r) for r in results]
    gains, losses, years = selectors.criteria_changes(unit)
    context = {
        "unit": unit,
        "results": results,
        "total_chart": charts.line_chart([(y, r.total) for y, r in series], low=0, fmt=format_points),
        "rank_chart": charts.line_chart([(y, r.rank) for y, r in series], low=1, invert=True, fmt=str),
        "gains": gains,
        "losses": losses,
        "compared_years": years,
    }
    return render(request, "scoring/unit_results.html", context)
