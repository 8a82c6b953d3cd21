from pathlib import Path

from django.core.cache import cache
from django.core.management.base import BaseCommand
from django.db import connection
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy as _

from ._backup import MISSING_FILES, created_at, missing_files, pending_migrations, restore_backup, total_size

RESTORE_DONE = _("Restored the backup of %(created)s (version %(version)s): %(vendor)s database "
                 "(tables: %(tables)d, rows: %(rows)d), uploaded files: %(files)d (%(size)s). "
                 "Every sha256 and row count matches.")
PENDING = _("Migrations of the code that the backup does not have: %(count)d. Run python manage.py migrate.")


class Command(BaseCommand):
    help = (
        "Restore a backup made by the backup command: checks every sha256 and the migrations first, refuses "
        "a database that is not empty unless --force, then restores the database and the uploaded files and "
        "compares the row counts. See README, Backups."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path, help="A directory written by the backup command.")
        parser.add_argument("--force", action="store_true",
                            help="Replace the content of a database that is not empty, and overwrite files.")

    def handle(self, *args, **options) -> None:
        manifest = restore_backup(options["directory"], force=options["force"])
        cache.clear()  # sessions, signed-in users and rendered rankings of the database replaced
        line = gettext(RESTORE_DONE) % {
            "created": timezone.localtime(created_at(manifest)).strftime("%d/%m/%Y %H:%M"),
            "version": manifest["app"]["version"], "vendor": connection.display_name,
            "tables": len(manifest["rows"]), "rows": sum(manifest["rows"].values()),
            "files": len(manifest["files"]["entries"]), "size": filesizeformat(total_size(manifest)),
        }
        self.stdout.write(self.style.SUCCESS(line))
        missing = missing_files()
        if missing:
            warning = gettext(MISSING_FILES) % {"count": len(missing), "name": missing[0]}
            self.stderr.write(self.style.WARNING(warning))
        pending = pending_migrations()
        if pending:
            self.stdout.write(self.style.WARNING(gettext(PENDING) % {"count": pending}))
