"""
Backup and restore of a whole installation: the database and the uploaded files
(evidence in the private storage, scans of decisions), for ``manage.py backup``
and ``manage.py restore`` (README "Backups").

A backup is one directory of three files; it is complete once ``manifest.json``
exists (written last):

- ``database.dump``: ``pg_dump --format=custom`` of the configured PostgreSQL
  database, taken in the same REPEATABLE READ snapshot as the row counts and
  the migration state of the manifest; or ``database.sqlite3``, a copy made
  with SQLite's online backup API (consistent while the site runs).
- ``files.tar.gz``: every file under each storage root (``MEDIA_ROOT``, and the
  location of any file field's storage outside it), named ``<root>/<path>``.
  It is written after the database, and uploads are never deleted, so every
  file the dumped rows name is in it.
- ``manifest.json``: when and by which version of the application it was made,
  the database vendor, the last applied migration of each app, the row count of
  every table, and the sha256 and size of the dump and of every file.

``restore`` checks everything before it writes anything: the manifest, the sha256
of the dump and of every file in the archive (no missing, no extra file), that the
code has every migration the backup was made with, the vendor, and that the
database is empty (no table) unless ``--force``. PostgreSQL restores with
``pg_restore --clean --if-exists --no-owner --no-privileges --single-transaction``
(all or nothing); SQLite copies the file back with the backup API. Then it writes
the files and compares the row count of every table with the manifest.
"""

import datetime
import hashlib
import json
import os
import sqlite3
import subprocess
import tarfile
import tempfile
import zlib
from importlib import metadata
from pathlib import Path, PurePosixPath

from django.apps import apps
from django.conf import settings
from django.core.management.base import CommandError
from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy as _

FORMAT = 1
MANIFEST = "manifest.json"
ARCHIVE = "files.tar.gz"
DUMPS = {"postgresql": "database.dump", "sqlite": "database.sqlite3"}
VENDORS = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}
PARTS = {"created_at", "app", "database", "migrations", "rows", "files"}
CHUNK = 1024 * 1024

ALREADY_A_BACKUP = _("%(path)s already holds a backup: choose a new directory.")
NOT_A_BACKUP = _("%(path)s is not a complete backup: it has no manifest.json.")
UNKNOWN_FORMAT = _("%(path)s is a backup in a format this version cannot read.")
UNSUPPORTED = _("Backups support PostgreSQL and SQLite databases, not %(vendor)s.")
WRONG_VENDOR = _("The backup is of a %(backup)s database but this installation uses %(current)s. "
                 "Nothing was restored.")
DAMAGED = _("The backup is damaged: %(name)s does not match its sha256 in the manifest. "
            "Nothing was restored.")
MISSING = _("The backup is incomplete: %(name)s is missing. Nothing was restored.")
UNLISTED = _("The backup holds a file its manifest does not list: %(name)s. Nothing was restored.")
UNKNOWN_ROOT = _("The backup holds files of a storage this installation does not have: %(root)s. "
                 "Nothing was restored.")
NEWER_MIGRATIONS = _("The backup was made with migrations this code does not have (%(migrations)s): install "
                     "version %(version)s of the application or a newer one first. Nothing was restored.")
NOT_EMPTY = _("The database is not empty (tables: %(count)d): restore into an empty database, or add --force "
              "to replace its content with the backup. Nothing was restored.")
EXTRA_TABLES = _("The database has tables the backup does not have (%(tables)s): drop and create the "
                 "database again, then restore into it. Nothing was restored.")
FILE_DIFFERS = _("%(name)s already exists with other content: add --force to overwrite it. "
                 "Nothing was restored.")
TOOL_FAILED = _("%(tool)s failed: %(error)s")
MISMATCH = _("The restored database differs from the backup (%(tables)s): do not use it; restore again into "
             "an empty database.")
MISSING_FILES = _("Files named in the database but missing from the storage: %(count)d, "
                  "for example %(name)s.")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def app_version() -> str:
    try:
        return metadata.version("thidua")
    except metadata.PackageNotFoundError:
        return "unknown"


def file_roots() -> dict[str, Path]:
    """
    The directories holding uploads, by the name their files carry in the archive:
    ``media`` (``MEDIA_ROOT``, where the private storage of evidence and scans lives),
    plus the location of any file field's storage that is outside it.
    """
    roots = {"media": Path(settings.MEDIA_ROOT).resolve()}
    for model in apps.get_models():
        for field in model._meta.get_fields():
            location = getattr(getattr(field, "storage", None), "location", None)
            if isinstance(field, models.FileField) and location:
                path = Path(location).resolve()
                if not any(path.is_relative_to(root) for root in roots.values()):
                    roots[f"{model._meta.label_lower}.{field.name}"] = path
    return roots


def missing_files() -> list[str]:
    """Names stored in the file fields of the database whose file is not in its storage."""
    missing = []
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if isinstance(field, models.FileField):
                names = model._base_manager.exclude(**{field.name: ""}).values_list(field.name, flat=True)
                missing += [name for name in names.iterator() if name and not field.storage.exists(name)]
    return missing


# --- database state: row counts and migrations over a DB-API cursor -------------------------------

def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _state(cursor, tables: list[str]) -> tuple[dict[str, int], dict[str, str]]:
    """Row count of every table, and the last applied migration of each app."""
    rows = {}
    for table in sorted(tables):
        cursor.execute(f"SELECT COUNT(*) FROM {_quote(table)}")
        rows[table] = cursor.fetchone()[0]
    last: dict[str, str] = {}
    if "django_migrations" in tables:
        cursor.execute("SELECT app, name FROM django_migrations")
        for app, name in cursor.fetchall():
            last[app] = max(last.get(app, name), name)  # names are numbered: 0002_… after 0001_…
    return rows, dict(sorted(last.items()))


def _tables() -> list[str]:
    return connection.introspection.table_names(include_views=False)


# --- PostgreSQL: pg_dump / pg_restore with the configured connection --------------------------------

LIBPQ_OPTIONS = {"sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT",
                 "sslkey": "PGSSLKEY", "connect_timeout": "PGCONNECT_TIMEOUT"}


def _pg_command(tool: str, settings_dict: dict) -> tuple[list[str], dict[str, str]]:
    """The tool with the connection of ``settings_dict``; the password goes in PGPASSWORD, not argv."""
    args = [tool, "--no-password"]
    if settings_dict.get("HOST"):
        args += ["--host", str(settings_dict["HOST"])]
    if settings_dict.get("PORT"):
        args += ["--port", str(settings_dict["PORT"])]
    if settings_dict.get("USER"):
        args += ["--username", str(settings_dict["USER"])]
    args.append(f"--dbname={settings_dict['NAME']}")
    env = dict(os.environ)
    if settings_dict.get("PASSWORD"):
        env["PGPASSWORD"] = str(settings_dict["PASSWORD"])
    for option, variable in LIBPQ_OPTIONS.items():
        if option in settings_dict.get("OPTIONS", {}):
            env[variable] = str(settings_dict["OPTIONS"][option])
    return args, env


def _run(args: list[str], env: dict[str, str]) -> None:
    try:
        done = subprocess.run(args, env=env, capture_output=True, text=True)
    except FileNotFoundError as error:
        raise CommandError(gettext(TOOL_FAILED) % {"tool": args[0], "error": error}) from error
    if done.returncode:
        error = done.stderr.strip() or f"exit status {done.returncode}"
        raise CommandError(gettext(TOOL_FAILED) % {"tool": args[0], "error": error})


def _dump_postgresql(path: Path) -> tuple[dict[str, int], dict[str, str]]:
    """pg_dump inside one exported snapshot, so the dump, the counts and the migrations agree."""
    snapshot_connection = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        snapshot_connection.set_autocommit(False)
        with snapshot_connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            args, env = _pg_command("pg_dump", snapshot_connection.settings_dict)
            _run([*args, "--format=custom", f"--snapshot={snapshot}", f"--file={path}"], env)
            tables = snapshot_connection.introspection.table_names(cursor, include_views=False)
            state = _state(cursor, tables)
        snapshot_connection.rollback()
    finally:
        snapshot_connection.close()
    return state


def _dump_sqlite(path: Path) -> tuple[dict[str, int], dict[str, str]]:
    connection.ensure_connection()
    copy = sqlite3.connect(path)
    try:
        connection.connection.backup(copy)
        cursor = copy.cursor()
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        return _state(cursor, [name for (name,) in cursor.fetchall()])
    finally:
        copy.close()


# --- backup ----------------------------------------------------------------------------------------

class _Hashing:
    """A file reader that hashes what tarfile copies, so the sha256 is of the archived bytes."""

    def __init__(self, f):
        self.f, self.digest = f, hashlib.sha256()

    def read(self, size=-1):
        block = self.f.read(size)
        self.digest.update(block)
        return block


def _archive(path: Path, roots: dict[str, Path], skip: Path) -> dict[str, dict]:
    entries = {}
    with tarfile.open(path, "w:gz", compresslevel=6) as tar:
        for key, root in roots.items():
            if not root.is_dir():
                continue
            for directory, dirs, files in os.walk(root):
                dirs.sort()
                if Path(directory).resolve().is_relative_to(skip):
                    dirs.clear()
                    continue
                for name in sorted(files):
                    source = Path(directory) / name
                    if source.is_symlink() or not source.is_file():
                        continue
                    arcname = f"{key}/{source.relative_to(root).as_posix()}"
                    info = tar.gettarinfo(str(source), arcname)
                    info.uid = info.gid = 0
                    info.uname = info.gname = ""
                    with open(source, "rb") as f:
                        reader = _Hashing(f)
                        tar.addfile(info, reader)
                    entries[arcname] = {"sha256": reader.digest.hexdigest(), "size": info.size}
    return entries


def make_backup(target: Path) -> dict:
    """Write a backup of the database and the uploaded files into ``target``; return its manifest."""
    vendor = connection.vendor
    if vendor not in DUMPS:
        raise CommandError(gettext(UNSUPPORTED) % {"vendor": connection.display_name})
    target = target.resolve()
    if (target / MANIFEST).exists():
        raise CommandError(gettext(ALREADY_A_BACKUP) % {"path": target})
    target.mkdir(mode=0o700, parents=True, exist_ok=True)
    created_at = timezone.now()
    dump = target / DUMPS[vendor]
    rows, migrations = (_dump_postgresql if vendor == "postgresql" else _dump_sqlite)(dump)
    roots = file_roots()
    entries = _archive(target / ARCHIVE, roots, skip=target)
    manifest = {
        "format": FORMAT,
        "created_at": created_at.isoformat(),
        "app": {"name": "thidua", "version": app_version()},
        "database": {"vendor": vendor, "file": dump.name, "sha256": sha256_of(dump),
                     "size": dump.stat().st_size},
        "migrations": migrations,
        "rows": rows,
        "files": {"archive": ARCHIVE, "roots": {key: str(root) for key, root in roots.items()},
                  "entries": entries},
    }
    partial = target / f".{MANIFEST}.partial"
    partial.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    partial.replace(target / MANIFEST)
    for name in (dump.name, ARCHIVE, MANIFEST):
        (target / name).chmod(0o600)  # password hashes and evidence: readable by the owner only
    return manifest


# --- restore ---------------------------------------------------------------------------------------

def read_manifest(source: Path) -> dict:
    try:
        manifest = json.loads((source / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise CommandError(gettext(NOT_A_BACKUP) % {"path": source}) from error
    except ValueError as error:
        raise CommandError(gettext(DAMAGED) % {"name": MANIFEST}) from error
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CommandError(gettext(UNKNOWN_FORMAT) % {"path": source})
    if not PARTS <= set(manifest):
        raise CommandError(gettext(DAMAGED) % {"name": MANIFEST})
    return manifest


def _destination(name: str, roots: dict[str, Path]) -> Path:
    """Where an archived file goes; refuses names that would leave their root."""
    key, _slash, rest = name.partition("/")
    relative = PurePosixPath(rest)
    if not rest or relative.is_absolute() or any(part in ("", ".", "..") for part in rest.split("/")):
        raise CommandError(gettext(UNLISTED) % {"name": name})
    if key not in roots:
        raise CommandError(gettext(UNKNOWN_ROOT) % {"root": key})
    return roots[key].joinpath(*relative.parts)


UNREADABLE = (tarfile.TarError, EOFError, zlib.error, OSError)  # a truncated or altered gzip/tar stream


def _members(source: Path):
    """(member, blocks of its bytes) of every regular file of the archive; a damaged archive is refused."""
    try:
        with tarfile.open(source / ARCHIVE, "r:gz") as tar:
            for member in tar:
                if not member.isfile():
                    raise CommandError(gettext(UNLISTED) % {"name": member.name})
                yield member, _blocks(tar.extractfile(member))
    except FileNotFoundError as error:
        raise CommandError(gettext(MISSING) % {"name": ARCHIVE}) from error
    except UNREADABLE as error:
        raise CommandError(gettext(DAMAGED) % {"name": ARCHIVE}) from error


def _blocks(reader):
    try:
        while block := reader.read(CHUNK):
            yield block
    except UNREADABLE as error:
        raise CommandError(gettext(DAMAGED) % {"name": ARCHIVE}) from error


def verify(source: Path, manifest: dict, *, force: bool) -> None:
    """Everything that can refuse a restore, checked before anything is written."""
    database = manifest["database"]
    if database["vendor"] != connection.vendor:
        vendors = {"backup": VENDORS.get(database["vendor"], database["vendor"]),
                   "current": connection.display_name}
        raise CommandError(gettext(WRONG_VENDOR) % vendors)
    if database["file"] != DUMPS[connection.vendor]:
        raise CommandError(gettext(UNLISTED) % {"name": database["file"]})
    dump = source / database["file"]
    if not dump.is_file():
        raise CommandError(gettext(MISSING) % {"name": database["file"]})
    if sha256_of(dump) != database["sha256"]:
        raise CommandError(gettext(DAMAGED) % {"name": database["file"]})

    disk = MigrationLoader(None, ignore_no_migrations=True).disk_migrations
    unknown = [f"{app}.{name}" for app, name in manifest["migrations"].items() if (app, name) not in disk]
    if unknown:
        raise CommandError(gettext(NEWER_MIGRATIONS) % {"migrations": ", ".join(unknown),
                                                         "version": manifest["app"]["version"]})

    tables = _tables()
    if tables and not force:
        raise CommandError(gettext(NOT_EMPTY) % {"count": len(tables)})
    extra = sorted(set(tables) - set(manifest["rows"]))
    if extra and connection.vendor == "postgresql":  # pg_restore --clean would keep them; SQLite replaces all
        raise CommandError(gettext(EXTRA_TABLES) % {"tables": ", ".join(extra)})

    roots, expected, seen = file_roots(), manifest["files"]["entries"], set()
    for member, blocks in _members(source):
        if member.name not in expected or member.name in seen:
            raise CommandError(gettext(UNLISTED) % {"name": member.name})
        destination = _destination(member.name, roots)
        digest = hashlib.sha256()
        for block in blocks:
            digest.update(block)
        if digest.hexdigest() != expected[member.name]["sha256"]:
            raise CommandError(gettext(DAMAGED) % {"name": member.name})
        if not force and destination.exists() and sha256_of(destination) != expected[member.name]["sha256"]:
            raise CommandError(gettext(FILE_DIFFERS) % {"name": destination})
        seen.add(member.name)
    for name in sorted(set(expected) - seen):
        raise CommandError(gettext(MISSING) % {"name": name})


def _restore_database(dump: Path) -> None:
    if connection.in_atomic_block:
        raise CommandError("restore cannot run inside a transaction")
    if connection.vendor == "postgresql":
        connection.close()  # hold no lock while pg_restore replaces the tables
        args, env = _pg_command("pg_restore", connection.settings_dict)
        _run([*args, "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
              "--exit-on-error", str(dump)], env)
    else:
        connection.ensure_connection()
        source = sqlite3.connect(dump)
        try:
            source.backup(connection.connection)
        finally:
            source.close()
    connection.close()


def _restore_files(source: Path, manifest: dict) -> None:
    roots, expected = file_roots(), manifest["files"]["entries"]
    for member, blocks in _members(source):
        destination = _destination(member.name, roots)
        destination.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        with tempfile.NamedTemporaryFile(dir=destination.parent, prefix=".restore-", delete=False) as out:
            for block in blocks:
                digest.update(block)
                out.write(block)
        if digest.hexdigest() != expected[member.name]["sha256"]:  # changed since ``verify``
            os.unlink(out.name)
            raise CommandError(gettext(DAMAGED) % {"name": member.name})
        os.chmod(out.name, 0o644)
        os.replace(out.name, destination)
        os.utime(destination, (member.mtime, member.mtime))


def pending_migrations() -> int:
    executor = MigrationExecutor(connection)
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def restore_backup(source: Path, *, force: bool = False) -> dict:
    """Check the backup in ``source``, then put its database and files in place; return its manifest."""
    source = source.resolve()
    manifest = read_manifest(source)
    verify(source, manifest, force=force)
    _restore_database(source / manifest["database"]["file"])
    _restore_files(source, manifest)
    with connection.cursor() as cursor:
        rows, _migrations = _state(cursor, _tables())
    differ = [f"{table}: {rows.get(table)} ≠ {count}" for table, count in manifest["rows"].items()
              if rows.get(table) != count]
    if differ:
        raise CommandError(gettext(MISMATCH) % {"tables": "; ".join(differ)})
    return manifest


def created_at(manifest: dict) -> datetime.datetime:
    return datetime.datetime.fromisoformat(manifest["created_at"])


def total_size(manifest: dict) -> int:
    return sum(entry["size"] for entry in manifest["files"]["entries"].values())

