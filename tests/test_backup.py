"""
Backups (issue #8): ``manage.py backup`` of the demo, with an uploaded decision scan
and the demo's evidence files, restored by ``manage.py restore`` in another process
into an EMPTY database (a new SQLite file, or a new PostgreSQL database) and an
empty storage, gives the same frozen results, votes, proposals, decisions and file
bytes. A restore refuses a database that is not empty (unless ``--force``), a damaged
dump or file, and a backup made with migrations the code does not have.

pg_dump runs in its own connection and sees only committed rows, and pg_restore waits
for the locks of an open transaction: the tests that back up data they wrote, or that
restore, use ``transactional_db``; those refused before anything is written stay in the
test's transaction.
"""

import datetime
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from awards import awarding
from awards.demo import HIGHER_AUTHORITY
from awards.models import Candidate, Decision, Grant, Proposal, Vote
from clusters.backends import KEY
from clusters.management.commands import _backup
from clusters.models import Superior, User
from scoring.models import Evidence, Result, ResultSnapshot

ROOT = Path(__file__).resolve().parent.parent
SCAN = b"%PDF-1.4\n% scan of decision 15/QD-BTL\n" + bytes(range(256)) * 8
SHOW_FINGERPRINT = "import json; from tests.test_backup import fingerprint; print(json.dumps(fingerprint()))"

def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def content(field_file) -> str:
    with field_file.open("rb"):
        return sha(field_file.read())


def fingerprint() -> dict:
    """What the application shows of the past, by natural keys (ids are not compared)."""
    def year(cy):
        return f"{cy.cluster.name} {cy.year}"

    results = [
        [year(s.cluster_year), s.number, s.is_current, s.checksum,
         [[r.unit.name, str(r.total), r.rank, r.tied, r.band]
          for r in Result.objects.filter(snapshot=s).select_related("unit").order_by("rank", "unit__name")]]
        for s in ResultSnapshot.objects.select_related("cluster_year__cluster")
        .order_by("cluster_year__cluster__name", "cluster_year__year", "number")
    ]
    votes = [
        [year(v.cluster_year), v.round, v.status, v.outcome, v.leader.name if v.leader else None,
         v.participations.count(),
         [[c.unit.name, c.agree, c.disagree, c.blank, c.passed]
          for c in Candidate.objects.filter(vote=v).select_related("unit").order_by("unit__name")]]
        for v in Vote.objects.select_related("cluster_year__cluster", "leader")
        .order_by("cluster_year__cluster__name", "cluster_year__year", "round")
    ]
    proposals = sorted(
        [year(p.cluster_year), p.unit.name, p.award_type.code, p.withdrawn_at is not None]
        for p in Proposal.objects.select_related("cluster_year__cluster", "unit", "award_type")
    )
    decisions = [
        [d.number, d.date.isoformat(), d.revoked_at is not None, content(d.scan) if d.scan else None,
         sorted([g.unit.name, g.award_type.code, g.year] for g in Grant.objects.filter(decision=d)
                .select_related("unit", "award_type"))]
        for d in Decision.objects.order_by("number")
    ]
    evidence = sorted([e.original_name, e.file.name, e.size, content(e.file)]
                      for e in Evidence.objects.all())
    return {"results": results, "votes": votes, "proposals": proposals, "decisions": decisions,
            "evidence": evidence, "users": sorted(User.objects.values_list("username", "password"))}


def manage(*args: str, database_url: str, media: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, DATABASE_URL=database_url, MEDIA_ROOT=str(media),
               DJANGO_SETTINGS_MODULE="config.settings.test")
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def empty_database(tmp_path):
    """The URL of a new, empty database of the vendor under test; a PostgreSQL one is dropped afterwards."""
    if connection.vendor == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    db = connection.settings_dict
    name = f"thidua_backup_restore_{uuid.uuid4().hex[:12]}"
    server = f"postgres://{db['USER']}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}"
    env = dict(os.environ, PGPASSWORD=db["PASSWORD"] or "")
    subprocess.run(["psql", f"{server}/postgres", "-qc", f'CREATE DATABASE "{name}"'], env=env, check=True)
    try:
        yield f"{server}/{name}"
    finally:
        drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
        subprocess.run(["psql", f"{server}/postgres", "-qc", drop], env=env, check=True)


@pytest.mark.django_db(transaction=True)
def test_the_demo_restored_into_an_empty_database_gives_the_same_results(media, tmp_path, empty_database):
    call_command("load_demo")
    btl = User.objects.get(username="btl")
    proposal = (Proposal.objects.filter(cluster_year__year=2024)
                .exclude(award_type__code__in=HIGHER_AUTHORITY).order_by("pk").first())
    awarding.record_decision(
        superior=Superior.objects.get(), number="15/QĐ-BTL", date=datetime.date(2024, 12, 20),
        authority="Bộ Tư lệnh Thủ đô Hà Nội", signer="Tư lệnh", year=2024,
        grants=[(proposal.unit, proposal.award_type, proposal)], by=btl, now=timezone.now(),
        scan=SimpleUploadedFile("quyết định 15.pdf", SCAN, content_type="application/pdf"),
    )
    before = fingerprint()
    assert len(before["results"]) == 3 and all(snapshot[-1] for snapshot in before["results"])
    assert len(before["evidence"]) == 40 and [d[3] for d in before["decisions"]] == [sha(SCAN), None]

    call_command("backup", str(tmp_path / "backup"))
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert manifest["database"]["vendor"] == connection.vendor
    assert manifest["rows"]["scoring_result"] == Result.objects.count()
    applied = sorted(MigrationRecorder(connection).applied_migrations())
    assert manifest["migrations"] == {app: name for app, name in applied}  # the last one of each app
    assert len(manifest["files"]["entries"]) == 41  # 40 evidence files and the scan

    restored_media = tmp_path / "restored-media"
    done = manage("restore", str(tmp_path / "backup"), database_url=empty_database, media=restored_media)
    assert done.returncode == 0, done.stderr
    shown = manage("shell", "-c", SHOW_FINGERPRINT,
                   database_url=empty_database, media=restored_media)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout.strip().splitlines()[-1]) == json.loads(json.dumps(before))
    restored = sorted(f"media/{p.relative_to(restored_media).as_posix()}" for p in restored_media.rglob("*")
                      if p.is_file())
    assert restored == sorted(manifest["files"]["entries"])


@pytest.fixture
def small_backup(media, tmp_path):
    """A backup of the migrated test database and one evidence-like file."""
    (media / "evidence" / "1" / "2").mkdir(parents=True)
    (media / "evidence" / "1" / "2" / "bien-ban.pdf").write_bytes(b"%PDF-1.4 original")
    call_command("backup", str(tmp_path / "small"))
    return tmp_path / "small"


def refusal(*args, **options) -> str:
    with pytest.raises(CommandError) as error:
        call_command("restore", *args, **options)
    return str(error.value)


@pytest.mark.django_db(transaction=True)
def test_restore_refuses_a_database_that_is_not_empty_unless_forced(small_backup, media):
    tables = len(connection.introspection.table_names())
    assert refusal(str(small_backup)) == str(_backup.NOT_EMPTY) % {"count": tables}

    user = User.objects.create(username="after-the-backup")
    cache.set(KEY % user.pk, user)  # as a signed-in request would leave it
    (media / "evidence" / "1" / "2" / "bien-ban.pdf").write_bytes(b"changed")
    call_command("restore", str(small_backup), force=True)
    assert not User.objects.filter(username="after-the-backup").exists()
    assert cache.get(KEY % user.pk) is None  # no user, session or ranking of the replaced database survives
    assert (media / "evidence" / "1" / "2" / "bien-ban.pdf").read_bytes() == b"%PDF-1.4 original"


def tamper_file(backup: Path) -> str:
    """The same archive with the file's bytes replaced (as a disk error or a tampering would)."""
    path, content = backup / "files.tar.gz", b"%PDF-1.4 tampered"
    with tarfile.open(path) as tar:
        members = tar.getmembers()
    with tarfile.open(path, "w:gz") as tar:
        for member in members:
            member.size = len(content)
            tar.addfile(member, io.BytesIO(content))
    return "media/evidence/1/2/bien-ban.pdf"


def truncate_archive(backup: Path) -> str:
    path = backup / "files.tar.gz"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return "files.tar.gz"


def flip_a_byte_of_the_dump(backup: Path) -> str:
    dump = backup / _backup.DUMPS[connection.vendor]
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))
    return dump.name


@pytest.mark.django_db
@pytest.mark.parametrize("damage", [tamper_file, truncate_archive, flip_a_byte_of_the_dump])
def test_restore_refuses_a_damaged_backup_before_writing_anything(small_backup, media, damage):
    name = damage(small_backup)
    User.objects.create(username="kept")
    assert refusal(str(small_backup), force=True) == str(_backup.DAMAGED) % {"name": name}
    assert User.objects.filter(username="kept").exists()
    assert (media / "evidence" / "1" / "2" / "bien-ban.pdf").read_bytes() == b"%PDF-1.4 original"


@pytest.mark.django_db
def test_restore_refuses_a_backup_made_with_newer_migrations(small_backup):
    path = small_backup / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["migrations"]["scoring"] = "9999_from_the_future"
    path.write_text(json.dumps(manifest))
    assert refusal(str(small_backup), force=True) == str(_backup.NEWER_MIGRATIONS) % {
        "migrations": "scoring.9999_from_the_future", "version": manifest["app"]["version"]}


@pytest.mark.django_db
def test_restore_refuses_a_backup_of_the_other_database_vendor(small_backup):
    path = small_backup / "manifest.json"
    manifest = json.loads(path.read_text())
    other = "sqlite" if connection.vendor == "postgresql" else "postgresql"
    manifest["database"]["vendor"] = other
    path.write_text(json.dumps(manifest))
    assert refusal(str(small_backup), force=True) == str(_backup.WRONG_VENDOR) % {
        "backup": _backup.VENDORS[other], "current": connection.display_name}


@pytest.mark.django_db
def test_backup_refuses_to_overwrite_a_backup(small_backup):
    with pytest.raises(CommandError) as error:
        call_command("backup", str(small_backup))
    assert str(error.value) == str(_backup.ALREADY_A_BACKUP) % {"path": small_backup}
