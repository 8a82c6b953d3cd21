#!/usr/bin/env python
"""
The benchmark of issue #7: the application at national scale, measured against its own references.

    make bench                                   # DATABASE_URL defaults to .../thidua_bench
    .venv/bin/python bench/run.py --database-url postgres://postgres@127.0.0.1:5432/thidua_bench

The database must hold the generated data first (not done here; minutes):

    DATABASE_URL=... .venv/bin/python manage.py migrate
    DATABASE_URL=... .venv/bin/python manage.py generate_load --clusters 500 --units-per-cluster 10 \\
        --criteria 60 --years 10

What one run does (about 3 minutes with the default 10 s per load test):

setup (idempotent; nothing of the generated data changes)
    ``migrate`` (the indexes), ``collectstatic`` once into ``$STATIC_ROOT`` (default
    /tmp/thidua-bench-static), ``VACUUM ANALYZE`` (index-only scans need the
    visibility map after a bulk load); bench users (``bench_command``, the
    command officer of the generated superior, and ``bench_staff_NN``) and, for
    the sheet saves, a bench superior "Bench: phiếu đang chấm (dữ liệu sinh tự
    động)" with one cluster per client, each with a cluster year of the last
    generated year in self-assessment and the 60 criteria of the generated set.
gunicorn
    ``config.wsgi`` with ``bench.settings`` (the production settings on plain
    HTTP, plus ``/bench/bare/``), 2 sync workers on 127.0.0.1 (first free port
    from 8100), persistent connections (``CONN_MAX_AGE=60``). Every page is
    logged in through the login form (session cookie + CSRF).
load
    ``wrk -t2 -c16 -d<N>s --latency`` after a 3 s warm-up, and ``wrk -t1 -c1``
    for the server time of one request; the sheet saves use ``-t16 -c16`` (one
    connection per wrk thread, so each client follows its own sheet's version).

Measured, with the two references of the same run:
  bare      the ceiling: a template view with no query behind the same middleware;
  signed-in what any page of the application costs at least: login required (session and user
            from the cache), the site's base template, no query of its own (not a target's reference);
  floor     raw SQL in PostgreSQL through psycopg, median of 15 runs: the year's plain
            ``SUM(points) GROUP BY unit`` and the same yearly totals as the pages
            (standard + capped bonus − capped deduction);
  1. the command-wide overview and cross-cluster ranking of the last (live) year and of
     the year before (frozen results), 5,000 units: server time vs the floor;
  2. one cluster's ranking page (live and frozen): req/s vs bare, p99, query count;
  3. saving a 60-criterion sheet (6 points changed per save), 16 clients: p99, errors,
     and the final database state (every 302 is one version and 6 trail events);
  4. ``scoring.services.close_scoring_year``: every cluster year of the last year closed in
     one pass, in one transaction rolled back at the end (the bench can be run again);
  5. the Excel export of the command-wide summary (every unit × every criterion): time
     over HTTP, the worker's resident memory before/after, the Python heap peak.

Writes a table to stdout and ``bench/results/latest.json`` (``--output``).
"""

import argparse
import datetime
import http.client
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/thidua_bench"
BENCH_PASSWORD = "Bench@2024-load"
BENCH_SUPERIOR = "Bench: phiếu đang chấm"
VARIED = 6  # criteria whose points change at each save
TARGETS = {
    "overview_server_time_ratio": 2.0,  # × the floor
    "ranking_throughput_ratio": 0.25,  # × the bare view
    "ranking_p99_ms": 50,
    "save_p99_ms": 100,
    "close_s": 5.0,
    "export_s": 5.0,
    "export_heap_mb": 64,
}

REPORT_LUA = r"""
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "bytes": %d, "connect": %d, "read": %d, "write": %d, '
    .. '"status": %d, "timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f%s}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    extra_report and extra_report() or ""))
end
"""

# One wrk thread per client: each client posts its own sheet and follows its version.
SAVE_LUA = r"""
local sheets = SHEETS_DATA
local counter = 0
local threads = {}

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

function init(args)
  sheet = sheets[tid]
  version = sheet.version
  ok, failed, first_version, last_posted = 0, 0, sheet.version, -1
  headers = {["Content-Type"] = "application/x-www-form-urlencoded", ["Cookie"] = sheet.cookie}
end

function request()
  local parts = {"csrfmiddlewaretoken=" .. sheet.token, "version=" .. version}
  local low = version % 2
  for i, leaf in ipairs(sheet.leaves) do
    local value = 1
    if i <= VARIED then value = low end
    parts[#parts + 1] = "points_" .. leaf .. "=" .. value
  end
  last_posted = version
  return wrk.format("POST", sheet.path, headers, table.concat(parts, "&"))
end

function response(status, headers, body)
  if status == 302 and headers["Location"] == sheet.path then
    ok = ok + 1
    version = version + 1
  else
    failed = failed + 1
    local current = body and string.match(body, 'name="version" value="(%d+)"')
    if current then version = tonumber(current) end
  end
end

function extra_report()
  local items = {}
  for _, thread in ipairs(threads) do
    items[#items + 1] = string.format('{"tid": %d, "ok": %d, "failed": %d, "first_version": %d, "version": %d}',
      thread:get("tid"), thread:get("ok"), thread:get("failed"), thread:get("first_version"), thread:get("version"))
  end
  return ', "clients": [' .. table.concat(items, ", ") .. ']'
end
"""


# --- small helpers --------------------------------------------------------------------------------


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port(start: int) -> int:
    for port in range(start, start + 100):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise SystemExit("no free port from %d" % start)


def command_output(*args: str) -> str:
    try:
        result = subprocess.run(args, capture_output=True, text=True, timeout=10)
        return (result.stdout or result.stderr).strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine() -> dict:
    meminfo = Path("/proc/meminfo").read_text()
    total_kb = int(re.search(r"MemTotal:\s+(\d+)", meminfo).group(1))
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"model name\s*:\s*(.+)", cpuinfo)
    return {
        "nproc": int(command_output("nproc") or os.cpu_count()),
        "cpu": model.group(1).strip() if model else platform.processor(),
        "ram_gib": round(total_kb / 1024 / 1024, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "wrk": command_output("wrk", "-v").splitlines()[0] if command_output("wrk", "-v") else "",
        "load_average_at_start": os.getloadavg(),
    }


def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 2)


class HttpClient:
    """Plain HTTP/1.1 on the loopback with the cookies of one logged-in user (nothing followed)."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: str | None = None, headers: dict | None = None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = self.cookie_header()
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        content = response.read()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key.strip()] = rest.split(";", 1)[0]
        connection.close()
        return response.status, dict(response.getheaders()), content

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items() if k in ("sessionid", "csrftoken"))

    def login(self, username: str, password: str) -> None:
        status, _headers, content = self.request("GET", "/accounts/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', content)
        if status != 200 or not token:
            raise SystemExit(f"login page answered {status}")
        body = urllib.parse.urlencode({"username": username, "password": password,
                                       "csrfmiddlewaretoken": token.group(1).decode()})
        status, headers, _ = self.request("POST", "/accounts/login/", body,
                                          {"Content-Type": "application/x-www-form-urlencoded"})
        if status != 302 or "sessionid" not in self.cookies:
            raise SystemExit(f"login of {username} failed ({status})")

    def form_token(self, path: str) -> str:
        status, _headers, content = self.request("GET", path)
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', content)
        if status != 200 or not token:
            raise SystemExit(f"{path} answered {status} without a form")
        return token.group(1).decode()


# --- the run --------------------------------------------------------------------------------------


class Bench:
    def __init__(self, args):
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="thidua-bench-"))
        self.gunicorn = None
        self.port = None
        self.result: dict = {"machine": machine(), "settings": {
            "workers": args.workers, "threads": args.threads, "connections": args.connections,
            "duration_s": args.duration, "conn_max_age": 60, "settings_module": "bench.settings",
        }}

    # -- setup ----------------------------------------------------------------------------------

    def setup(self) -> None:
        from django.conf import settings
        from django.core.management import call_command
        from django.db import connection

        if connection.vendor != "postgresql":
            raise SystemExit("the benchmark runs on PostgreSQL: pass --database-url postgres://...")
        from django.core.cache import cache

        log("migrate")
        call_command("migrate", interactive=False, verbosity=0)
        cache.clear()  # the file cache of the bench's gunicorn: nothing from an earlier database or run
        manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
        if not manifest.exists():
            log(f"collectstatic into {settings.STATIC_ROOT} (once)")
            call_command("collectstatic", interactive=False, verbosity=0)
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            self.result["machine"]["postgresql"] = cursor.fetchone()[0]
        log("VACUUM ANALYZE")
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        self.find_data()
        self.bench_users()
        self.open_sheets()

    def find_data(self) -> None:
        from django.db.models import Count

        from awards.management.commands.generate_load import GENERATED_MARK
        from clusters.models import ClusterYear, Superior
        from scoring.models import Score, Sheet

        superior = (
            Superior.objects.filter(name__endswith=GENERATED_MARK).exclude(name__startswith=BENCH_SUPERIOR)
            .annotate(n=Count("clusters")).order_by("-n").first()
        )
        if superior is None:
            raise SystemExit("no generated data: run `manage.py generate_load` first (see the docstring)")
        years = ClusterYear.objects.filter(cluster__superior=superior)
        last = max(years.values_list("year", flat=True))
        live = years.filter(year=last)
        not_ready = live.exclude(phase=ClusterYear.Phase.REVIEW).count()
        pending = Sheet.objects.filter(cluster_year__in=live).exclude(status=Sheet.Status.APPROVED).count()
        if not_ready or pending:
            raise SystemExit(f"{last}: {not_ready} cluster years not in review, {pending} sheets not approved")
        self.superior, self.year = superior, last
        self.data = {
            "superior": superior.name,
            "year_live": last,
            "year_frozen": last - 1,
            "clusters": superior.clusters.count(),
            "units": superior.units.count(),
            "years": years.values("year").distinct().count(),
            "criteria_per_sheet": Score.objects.filter(sheet=Sheet.objects.filter(cluster_year__in=live).first()).count(),
            "sheets_live_year": Sheet.objects.filter(cluster_year__in=live).count(),
            "scores": Score.objects.count(),
        }
        self.result["data"] = self.data
        log(f"data: {self.data}")

    def _user(self, username: str, first_name: str):
        from clusters.models import User

        user, created = User.objects.get_or_create(
            username=username, defaults={"first_name": first_name, "last_name": "(bench)"}
        )
        if created or not user.check_password(BENCH_PASSWORD):
            user.set_password(BENCH_PASSWORD)
            user.save()
        return user

    def bench_users(self) -> None:
        from clusters.models import RoleAssignment

        self.command = self._user("bench_command", "Cán bộ chỉ huy")
        RoleAssignment.objects.get_or_create(
            user=self.command, role=RoleAssignment.Role.COMMAND_OFFICER, superior=self.superior
        )

    def open_sheets(self) -> None:
        """One cluster per client in the bench superior, its year open for self-assessment, one sheet each."""
        from django.utils import timezone

        from awards.management.commands.generate_load import GENERATED_MARK
        from clusters import services as cluster_services
        from clusters.models import Cluster, ClusterYear, RoleAssignment, Superior, Unit
        from scoring import services
        from scoring.models import ClusterYearSet, CriteriaSet, Criterion, Sheet

        bench, _ = Superior.objects.get_or_create(name=f"{BENCH_SUPERIOR} {GENERATED_MARK}",
                                                  defaults={"short_name": "BENCH"})
        source = ClusterYearSet.objects.filter(
            cluster_year__cluster__superior=self.superior, cluster_year__year=self.year
        ).select_related("criteria_set").first().criteria_set
        criteria_set = CriteriaSet.objects.filter(superior=bench, year=self.year).first()
        if criteria_set is None:
            criteria_set = CriteriaSet.objects.create(
                superior=bench, year=self.year, name=f"Bench {source.name}", scale=source.scale,
                bonus_cap=source.bonus_cap, deduction_cap=source.deduction_cap, tie_breaks=source.tie_breaks,
            )
            Criterion.objects.bulk_create([
                Criterion(criteria_set=criteria_set, code=c.code, title=c.title, kind=c.kind, max_points=c.max_points,
                          sort_key=Criterion.sort_key_for(c.code), depth=c.code.count("."))
                for c in source.criteria.all()
            ])
            services.rebuild_tree(criteria_set)
        leaves = list(criteria_set.criteria.exclude(kind=Criterion.Kind.GROUP).order_by("sort_key")
                      .values_list("pk", flat=True))
        now, today = timezone.now(), timezone.localdate()
        self.sheets = []
        for i in range(1, self.args.connections + 1):
            unit, _ = Unit.objects.get_or_create(superior=bench, name=f"Bench đơn vị {i:02d}",
                                                 defaults={"short_name": f"B{i:02d}"})
            other, _ = Unit.objects.get_or_create(superior=bench, name=f"Bench đơn vị {i:02d} (bạn)",
                                                  defaults={"short_name": f"B{i:02d}b"})
            cluster, _ = Cluster.objects.get_or_create(superior=bench, name=f"Bench cụm {i:02d}")
            cluster_year = ClusterYear.objects.filter(cluster=cluster, year=self.year).first()
            if cluster_year is None:
                cluster_year = cluster_services.create_cluster_year(
                    cluster=cluster, year=self.year, members=[unit, other], chair=unit, by=self.command)
                services.attach_criteria_set(cluster_year=cluster_year, criteria_set=criteria_set)
                cluster_year = cluster_services.advance_phase(cluster_year=cluster_year, by=self.command, now=now,
                                                              reason="bench")
            if cluster_year.phase != ClusterYear.Phase.SCORING or cluster_year.self_assessment_due is not None:
                raise SystemExit(f"{cluster_year} is not open for self-assessment: delete the bench superior")
            staff = self._user(f"bench_staff_{i:02d}", f"Nhân viên {i:02d}")
            RoleAssignment.objects.get_or_create(user=staff, role=RoleAssignment.Role.UNIT_STAFF, unit=unit)
            sheet = Sheet.objects.filter(cluster_year=cluster_year, unit=unit).first()
            if sheet is None:
                # Every save posts version % 2 on the varied criteria, so each one changes them (see SAVE_LUA).
                entries = {pk: services.Entry(points="0" if n < VARIED else "1") for n, pk in enumerate(leaves)}
                sheet = services.save_self_assessment(cluster_year=cluster_year, unit=unit, entries=entries,
                                                      version=0, by=staff, now=now, today=today)
            self.sheets.append({"sheet": sheet.pk, "staff": staff.username, "cluster_year": cluster_year.pk,
                                "unit": unit.pk, "leaves": leaves})

    # -- gunicorn and wrk -----------------------------------------------------------------------------

    def start_gunicorn(self) -> None:
        self.port = free_port(self.args.port)
        env = dict(os.environ, DJANGO_SETTINGS_MODULE="bench.settings", DATABASE_URL=self.args.database_url,
                   CONN_MAX_AGE="60")
        log(f"gunicorn on 127.0.0.1:{self.port}, {self.args.workers} sync workers")
        self.gunicorn = subprocess.Popen(
            [str(ROOT / ".venv/bin/gunicorn"), "config.wsgi:application", "-b", f"127.0.0.1:{self.port}",
             "-w", str(self.args.workers), "--log-level", "warning"],
            cwd=ROOT, env=env,
        )
        for _ in range(300):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise SystemExit("gunicorn did not start")
        probe = HttpClient(self.port)
        for _ in range(100):
            try:
                if probe.request("GET", "/accounts/login/")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise SystemExit("gunicorn does not answer")

    def stop_gunicorn(self) -> None:
        if self.gunicorn is not None and self.gunicorn.poll() is None:
            self.gunicorn.terminate()
            try:
                self.gunicorn.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.gunicorn.kill()
        self.gunicorn = None

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.gunicorn.pid}/task/{self.gunicorn.pid}/children").read_text().split()
        return [int(pid) for pid in children]

    @staticmethod
    def rss_mb(pid: int) -> tuple[float, float]:
        """(resident now, resident peak) of a process, MB."""
        status = Path(f"/proc/{pid}/status").read_text()
        now = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
        peak = int(re.search(r"VmHWM:\s+(\d+)", status).group(1))
        return round(now / 1024, 1), round(peak / 1024, 1)

    def settle(self) -> None:
        """
        Wait until gunicorn has answered what wrk left in flight: requests queue
        in front of the two workers, so two answered probes mean an idle server.
        """
        probe = HttpClient(self.port)
        for _ in range(self.args.workers):
            probe.request("GET", "/bench/bare/")

    def wrk(self, path: str, cookies: str, *, duration: int | None = None, threads: int | None = None,
            connections: int | None = None, script: str = "", warmup: bool = True) -> dict:
        duration = duration or self.args.duration
        threads = threads or self.args.threads
        connections = connections or self.args.connections
        lua = self.tmp / f"wrk-{time.monotonic_ns()}.lua"
        lua.write_text(script + REPORT_LUA)
        url = f"http://127.0.0.1:{self.port}{path}"
        base = ["wrk", f"-t{threads}", f"-c{connections}", "--latency", "-H", f"Cookie: {cookies}", "-s", str(lua)]
        if warmup:
            subprocess.run([*base, "-d3s", url], capture_output=True, text=True, timeout=120)
            self.settle()
        out = subprocess.run([*base, f"-d{duration}s", "--timeout", "10s", url],
                             capture_output=True, text=True, timeout=duration + 120)
        self.settle()
        line = next((l for l in out.stdout.splitlines() if l.startswith("WRKJSON ")), None)
        if line is None:
            raise SystemExit(f"wrk failed: {out.stdout}\n{out.stderr}")
        raw = json.loads(line[len("WRKJSON "):])
        seconds = raw["duration_us"] / 1e6
        socket_errors = raw["connect"] + raw["read"] + raw["write"] + raw["timeout"]
        return {
            "wrk": f"-t{threads} -c{connections} -d{duration}s",
            "requests": raw["requests"],
            "rps": round(raw["requests"] / seconds, 1),
            "p50_ms": round(raw["p50_us"] / 1000, 2),
            "p90_ms": round(raw["p90_us"] / 1000, 2),
            "p99_ms": round(raw["p99_us"] / 1000, 2),
            "max_ms": round(raw["max_us"] / 1000, 2),
            "non_2xx_3xx": raw["status"],
            "socket_errors": socket_errors,
            **({"clients": raw["clients"]} if "clients" in raw else {}),
        }

    # -- in-process measurements -------------------------------------------------------------------------

    def query_count(self, path: str, user) -> int:
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(user)
        client.get(path)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path)
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code} in process")
        return len(queries)

    def floors(self) -> dict:
        """The raw SQL of the live year's totals in PostgreSQL, through psycopg: median of 15 runs."""
        import psycopg

        from scoring.models import Criterion

        kinds = {kind: list(Criterion.objects.filter(
            kind=kind, criteria_set__cluster_years__cluster_year__year=self.year,
            criteria_set__cluster_years__cluster_year__cluster__superior=self.superior).values_list("pk", flat=True)
            .distinct()) for kind in (Criterion.Kind.BONUS, Criterion.Kind.DEDUCTION)}
        plain = (
            "SELECT sh.unit_id, SUM(sc.official_points) FROM scoring_score sc "
            "JOIN scoring_sheet sh ON sh.id = sc.sheet_id JOIN clusters_clusteryear cy ON cy.id = sh.cluster_year_id "
            "JOIN clusters_cluster c ON c.id = cy.cluster_id WHERE cy.year = %(year)s AND c.superior_id = %(superior)s "
            "GROUP BY sh.unit_id"
        )
        totals = (
            "SELECT sh.unit_id, SUM(sc.official_points) - COALESCE(SUM(sc.official_points) FILTER "
            "(WHERE sc.criterion_id = ANY(%(bonus)s)), 0) - COALESCE(SUM(sc.official_points) FILTER "
            "(WHERE sc.criterion_id = ANY(%(deduction)s)), 0) + LEAST(COALESCE(SUM(sc.official_points) FILTER "
            "(WHERE sc.criterion_id = ANY(%(bonus)s)), 0), MAX(cs.bonus_cap)) - LEAST(COALESCE(SUM(sc.official_points) "
            "FILTER (WHERE sc.criterion_id = ANY(%(deduction)s)), 0), MAX(cs.deduction_cap)) AS total "
            "FROM scoring_sheet sh JOIN scoring_criteriaset cs ON cs.id = sh.criteria_set_id "
            "JOIN clusters_clusteryear cy ON cy.id = sh.cluster_year_id JOIN clusters_cluster c ON c.id = cy.cluster_id "
            "LEFT JOIN scoring_score sc ON sc.sheet_id = sh.id "
            "WHERE cy.year = %(year)s AND c.superior_id = %(superior)s AND sh.status = 'approved' GROUP BY sh.id"
        )
        params = {"year": self.year, "superior": self.superior.pk, "bonus": kinds[Criterion.Kind.BONUS],
                  "deduction": kinds[Criterion.Kind.DEDUCTION]}
        result = {}
        with psycopg.connect(self.args.database_url.replace("postgres://", "postgresql://", 1)) as conn:
            for name, sql in (("plain_sum", plain), ("same_totals", totals)):
                samples, rows = [], 0
                for i in range(16):
                    started = time.perf_counter()
                    with conn.cursor() as cursor:
                        cursor.execute(sql, params)
                        rows = len(cursor.fetchall())
                    if i:  # the first run warms the cache
                        samples.append(time.perf_counter() - started)
                result[name] = {"median_ms": median_ms(samples), "rows": rows}
        result["sql"] = {"plain_sum": plain, "same_totals": totals}
        return result

    def close_all(self) -> dict:
        """close_scoring_year: every cluster year of the live year in one pass, timed, then rolled back."""
        from django.db import connection, transaction
        from django.utils import timezone

        from clusters.models import ClusterYear
        from scoring import services
        from scoring.models import ResultSnapshot

        years = list(ClusterYear.objects.filter(cluster__superior=self.superior, year=self.year).order_by("pk"))
        now = timezone.now()
        queries = []

        def count(execute, sql, params, many, context):  # cheaper than recording every query with its time
            queries.append(1)
            return execute(sql, params, many, context)

        with transaction.atomic():
            with connection.execute_wrapper(count):
                started = time.perf_counter()
                services.close_scoring_year(superior=self.superior, year=self.year, by=self.command, now=now,
                                            reason="bench")
                seconds = time.perf_counter() - started
            closed = ClusterYear.objects.filter(pk__in=[cy.pk for cy in years], phase=ClusterYear.Phase.CONFERENCE)
            snapshots = ResultSnapshot.objects.filter(cluster_year__in=years, is_current=True).count()
            checked = closed.count() == len(years) == snapshots
            transaction.set_rollback(True)
        restored = not ResultSnapshot.objects.filter(cluster_year__in=years).exists() and not ClusterYear.objects.filter(
            pk__in=[cy.pk for cy in years]).exclude(phase=ClusterYear.Phase.REVIEW).exists()
        return {"cluster_years": len(years), "seconds": round(seconds, 3), "queries": len(queries),
                "queries_per_cluster_year": round(len(queries) / len(years), 1),
                "all_closed_with_snapshot": checked, "rolled_back": restored}

    def export_heap(self) -> dict:
        """The Python heap peak of building the export in this process (tracemalloc slows it: not timed)."""
        from scoring import exports

        tracemalloc.start()
        file = exports.command_summary_xlsx(superior=self.superior, year=self.year)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        size = os.fstat(file.fileno()).st_size
        file.close()
        return {"heap_peak_mb": round(peak / 1e6, 1), "file_mb": round(size / 1e6, 2)}

    # -- the measurements -----------------------------------------------------------------------------

    def run(self) -> dict:
        from django.urls import reverse

        from clusters.models import ClusterYear
        from scoring.models import ScoreEvent, Sheet

        self.setup()
        started_at = datetime.datetime.now(datetime.timezone.utc)
        s, y = self.superior.pk, self.year
        cy_live = ClusterYear.objects.filter(cluster__superior=self.superior, year=y).order_by("cluster__name").first()
        cy_frozen = ClusterYear.objects.get(cluster=cy_live.cluster, year=y - 1)
        pages = {
            "overview_live": f"{reverse('scoring:overview')}?superior={s}&year={y}",
            "overview_frozen": f"{reverse('scoring:overview')}?superior={s}&year={y - 1}",
            "ranking_live": reverse("scoring:ranking", args=[cy_live.pk]),
            "ranking_frozen": reverse("scoring:ranking", args=[cy_frozen.pk]),
        }
        export_path = f"{reverse('scoring:overview-export')}?superior={s}&year={y}"
        results, refs = {}, {}
        log("floor: raw SQL in PostgreSQL")
        refs["floor"] = self.floors()
        log(f"floor: {refs['floor']['plain_sum']} / {refs['floor']['same_totals']}")
        queries = {name: self.query_count(path, self.command) for name, path in pages.items()}
        log(f"queries per page at full size: {queries}")

        self.start_gunicorn()
        try:
            command = HttpClient(self.port)
            command.login(self.command.username, BENCH_PASSWORD)
            cookies = command.cookie_header()
            for name, path in [*pages.items(), ("bare", "/bench/bare/"), ("signed_in", "/bench/signed-in/")]:
                status, _h, body = command.request("GET", path)
                if status != 200:
                    raise SystemExit(f"{path} answered {status}")
            log("bare view (ceiling)")
            refs["bare"] = self.wrk("/bench/bare/", cookies)
            log("signed-in base page (what every page of the application costs at least)")
            refs["signed_in"] = self.wrk("/bench/signed-in/", cookies)
            for name, path in pages.items():
                log(f"{name}: {path}")
                alone = self.wrk(path, cookies, threads=1, connections=1, duration=max(3, self.args.duration // 2))
                results[name] = self.wrk(path, cookies)
                results[name].update(server_time_ms=alone["p50_ms"], server_time_requests=alone["requests"],
                                     queries=queries[name])
                log(f"  {results[name]}")

            log("sheet saves: logging in the clients")
            clients = []
            for item in self.sheets:
                client = HttpClient(self.port)
                client.login(item["staff"], BENCH_PASSWORD)
                path = reverse("scoring:sheet", args=[item["cluster_year"], item["unit"]])
                token = client.form_token(path)
                sheet = Sheet.objects.get(pk=item["sheet"])
                clients.append({**item, "path": path, "token": token, "cookie": client.cookie_header(),
                                "version": sheet.version})
            data = "{" + ", ".join(
                '{path="%s", cookie="%s", token="%s", version=%d, leaves={%s}}'
                % (c["path"], c["cookie"], c["token"], c["version"], ",".join(map(str, c["leaves"])))
                for c in clients) + "}"
            script = SAVE_LUA.replace("SHEETS_DATA", data).replace("VARIED", str(VARIED))
            events_before = {c["sheet"]: ScoreEvent.objects.filter(sheet_id=c["sheet"]).count() for c in clients}
            n = len(clients)
            save = self.wrk(clients[0]["path"], clients[0]["cookie"], threads=n, connections=n, script=script,
                            warmup=False)
            results["save"] = self.check_saves(save, clients, events_before)
            log(f"  {results['save']}")

            log("export of the command-wide summary over HTTP")
            results["export"] = self.export_http(command, export_path)
            log(f"  {results['export']}")
        finally:
            self.stop_gunicorn()
        results["export"].update(self.export_heap())
        log(f"closing the scoring of {self.data['clusters']} cluster years (rolled back)")
        results["close"] = self.close_all()
        log(f"  {results['close']}")

        self.result.update(started_at=started_at.isoformat(timespec="seconds"),
                           references=refs, results=results, targets=self.verdicts(refs, results))
        self.result["machine"]["load_average_at_end"] = os.getloadavg()
        self.result["git_commit"] = command_output("git", "-C", str(ROOT), "rev-parse", "--short", "HEAD")
        return self.result

    def check_saves(self, save: dict, clients: list[dict], events_before: dict) -> dict:
        """Every 302 is one version more and VARIED trail events; the last points posted are the stored ones."""
        from scoring.models import Score, ScoreEvent, Sheet

        per_client = {c["tid"]: c for c in save.pop("clients")}
        ok = failed = unanswered = 0
        lost = []
        for tid, client in enumerate(clients, start=1):
            counts = per_client[tid]
            ok += counts["ok"]
            failed += counts["failed"]
            sheet = Sheet.objects.get(pk=client["sheet"])
            # Saves the server made: wrk stops with one request in flight per client, which the
            # server may still carry out without wrk reading the answer (at most one per client).
            made = sheet.version - client["version"]
            unanswered += made - counts["ok"]
            events = ScoreEvent.objects.filter(sheet=sheet).count() - events_before[client["sheet"]]
            varied = set(Score.objects.filter(sheet=sheet, criterion_id__in=client["leaves"][:VARIED])
                         .values_list("self_points", flat=True))
            if (made not in (counts["ok"], counts["ok"] + 1) or events != VARIED * made
                    or (made and varied != {(sheet.version - 1) % 2})):
                lost.append({"sheet": sheet.pk, "acknowledged": counts["ok"], "versions": made, "events": events,
                             "points": sorted(map(str, varied))})
        save.update(saved=ok, failed=failed, saved_unanswered=unanswered, lost_writes=len(lost),
                    lost_detail=lost[:5], clients=len(clients), criteria=len(clients[0]["leaves"]),
                    changed_per_save=VARIED)
        return save

    def export_http(self, client: HttpClient, path: str) -> dict:
        before = {pid: self.rss_mb(pid) for pid in self.worker_pids()}
        samples, size, status = [], 0, 0
        for _ in range(3):
            started = time.perf_counter()
            status, headers, content = client.request("GET", path)
            samples.append(time.perf_counter() - started)
            size = len(content)
            if status != 200 or not content.startswith(b"PK"):
                raise SystemExit(f"export answered {status}")
        after = {pid: self.rss_mb(pid) for pid in self.worker_pids()}
        growth = max(after[pid][1] - before.get(pid, (0, 0))[1] for pid in after)
        return {"median_s": round(statistics.median(samples), 3), "runs": [round(x, 3) for x in samples],
                "bytes": size, "worker_rss_before_mb": [before[p] for p in sorted(before)],
                "worker_rss_after_mb": [after[p] for p in sorted(after)], "worker_peak_growth_mb": round(growth, 1)}

    @staticmethod
    def verdicts(refs: dict, results: dict) -> dict:
        floor = refs["floor"]["same_totals"]["median_ms"]
        plain = refs["floor"]["plain_sum"]["median_ms"]
        bare = refs["bare"]["rps"]
        verdicts = {}
        for name in ("overview_live", "overview_frozen"):
            server = results[name]["server_time_ms"]
            ratio = round(server / floor, 2)
            results[name].update(ratio_to_floor=ratio, ratio_to_plain_floor=round(server / plain, 2),
                                 ratio_to_bare=round(results[name]["rps"] / bare, 3))
            verdicts[f"1 {name}: server time ≤ {TARGETS['overview_server_time_ratio']}× floor"] = {
                "measured": f"{server} ms = {ratio}× {floor} ms", "pass": ratio <= TARGETS["overview_server_time_ratio"]}
        for name in ("ranking_live", "ranking_frozen"):
            r = results[name]
            ratio = round(r["rps"] / bare, 3)
            r["ratio_to_bare"] = ratio
            if "signed_in" in refs:
                r["ratio_to_signed_in"] = round(r["rps"] / refs["signed_in"]["rps"], 3)
            verdicts[f"2 {name}: ≥ {TARGETS['ranking_throughput_ratio']:.0%} of bare, p99 ≤ {TARGETS['ranking_p99_ms']} ms"] = {
                "measured": f"{r['rps']} req/s = {ratio:.0%} of {bare}; p99 {r['p99_ms']} ms; {r['queries']} queries",
                "pass": ratio >= TARGETS["ranking_throughput_ratio"] and r["p99_ms"] <= TARGETS["ranking_p99_ms"]
                and r["non_2xx_3xx"] == 0}
        s = results["save"]
        s["ratio_to_bare"] = round(s["rps"] / bare, 3)
        verdicts[f"3 save: p99 ≤ {TARGETS['save_p99_ms']} ms, no error, no lost write"] = {
            "measured": f"p99 {s['p99_ms']} ms, {s['rps']} saves/s, {s['failed']} failed, "
                        f"{s['non_2xx_3xx']} non-2xx/3xx, {s['lost_writes']} lost",
            "pass": s["p99_ms"] <= TARGETS["save_p99_ms"] and s["failed"] == 0 and s["non_2xx_3xx"] == 0
            and s["socket_errors"] == 0 and s["lost_writes"] == 0 and s["saved"] > 0}
        c = results["close"]
        verdicts[f"4 close {c['cluster_years']} cluster years ≤ {TARGETS['close_s']} s"] = {
            "measured": f"{c['seconds']} s, {c['queries']} queries", "pass": c["seconds"] <= TARGETS["close_s"]
            and c["all_closed_with_snapshot"] and c["rolled_back"]}
        e = results["export"]
        verdicts[f"5 export ≤ {TARGETS['export_s']} s, heap ≤ {TARGETS['export_heap_mb']} MB"] = {
            "measured": f"{e['median_s']} s, {e['file_mb']} MB file, heap peak {e['heap_peak_mb']} MB, "
                        f"worker peak +{e['worker_peak_growth_mb']} MB",
            "pass": e["median_s"] <= TARGETS["export_s"] and e["heap_peak_mb"] <= TARGETS["export_heap_mb"]}
        return verdicts


def table(result: dict) -> str:
    refs, results = result["references"], result["results"]
    lines = [
        "| measure | req/s | p50 ms | p99 ms | server time ms (1 client) | queries | vs reference |",
        "|---|---|---|---|---|---|---|",
    ]
    bare = refs["bare"]
    lines.append(f"| bare view (ceiling) | {bare['rps']} | {bare['p50_ms']} | {bare['p99_ms']} | – | 0 | 1 |")
    if "signed_in" in refs:
        signed = refs["signed_in"]
        lines.append(f"| signed-in base page, no query of its own | {signed['rps']} | {signed['p50_ms']} | "
                     f"{signed['p99_ms']} | – | 0 | {signed['rps'] / bare['rps']:.0%} of bare |")
    floor = refs["floor"]
    lines.append(f"| floor: raw SQL, same totals ({floor['same_totals']['rows']} units) | – | – | – | "
                 f"{floor['same_totals']['median_ms']} | 1 | 1 |")
    lines.append(f"| floor: raw SQL, plain SUM | – | – | – | {floor['plain_sum']['median_ms']} | 1 | – |")
    for name, label in (("overview_live", "1. overview + ranking, live year"),
                        ("overview_frozen", "1. overview + ranking, frozen year"),
                        ("ranking_live", "2. cluster ranking, live"), ("ranking_frozen", "2. cluster ranking, frozen")):
        r = results[name]
        versus = (f"{r['ratio_to_floor']}× floor" if name.startswith("overview")
                  else f"{r['ratio_to_bare']:.0%} of bare")
        lines.append(f"| {label} | {r['rps']} | {r['p50_ms']} | {r['p99_ms']} | {r['server_time_ms']} | "
                     f"{r['queries']} | {versus} |")
    s = results["save"]
    lines.append(f"| 3. save a {s['criteria']}-criterion sheet, {s['clients']} clients | {s['rps']} | {s['p50_ms']} | "
                 f"{s['p99_ms']} | – | – | {s['failed']} failed, {s['lost_writes']} lost |")
    c = results["close"]
    lines.append(f"| 4. close {c['cluster_years']} cluster years | – | – | – | {c['seconds'] * 1000:.0f} (total) | "
                 f"{c['queries']} | – |")
    e = results["export"]
    lines.append(f"| 5. export, {e['file_mb']} MB .xlsx | – | – | – | {e['median_s'] * 1000:.0f} | – | "
                 f"heap {e['heap_peak_mb']} MB |")
    lines += ["", "| target | measured | pass |", "|---|---|---|"]
    lines += [f"| {name} | {v['measured']} | {'yes' if v['pass'] else 'NO'} |" for name, v in result["targets"].items()]
    m = result["machine"]
    lines += ["", f"Machine: {m['nproc']} cores ({m['cpu']}), {m['ram_gib']} GiB, PostgreSQL {m.get('postgresql')}, "
              f"Python {m['python']}, {m['wrk']}; load average {m['load_average_at_start']} at start, "
              f"{m['load_average_at_end']} at end."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--duration", type=int, default=10, help="seconds of each wrk run (after 3 s of warm-up)")
    parser.add_argument("--port", type=int, default=8100, help="first port tried for gunicorn")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--output", default=str(ROOT / "bench/results/latest.json"))
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed (apt-get install wrk)")
    os.environ["DATABASE_URL"] = args.database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ.setdefault("CONN_MAX_AGE", "60")
    import django

    django.setup()
    bench = Bench(args)
    try:
        result = bench.run()
    finally:
        bench.stop_gunicorn()
        shutil.rmtree(bench.tmp, ignore_errors=True)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n")
    print()
    print(table(result))
    print(f"\nJSON: {args.output}")


if __name__ == "__main__":
    main()
