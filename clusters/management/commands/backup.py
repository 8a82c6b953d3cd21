from pathlib import Path

from django.core.management.base import BaseCommand
from django.db import connection
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext, gettext_lazy as _

from ._backup import MISSING_FILES, make_backup, missing_files, total_size

BACKUP_DONE = _("Backup written to %(path)s: %(vendor)s database (tables: %(tables)d, rows: %(rows)d), "
                "uploaded files: %(files)d (%(size)s). Restore it with: python manage.py restore %(path)s")


class Command(BaseCommand):
    help = (
        "Back up the database (pg_dump on PostgreSQL, the online backup API on SQLite) and the uploaded "
        "files (evidence, decision scans) into a new directory, with a manifest of checksums, row counts "
        "and migrations. See README, Backups."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path,
                            help="A new or empty directory, e.g. /var/backups/thidua/2025-01-31.")

    def handle(self, *args, **options) -> None:
        manifest = make_backup(options["directory"])
        missing = missing_files()
        if missing:
            warning = gettext(MISSING_FILES) % {"count": len(missing), "name": missing[0]}
            self.stderr.write(self.style.WARNING(warning))
        line = gettext(BACKUP_DONE) % {
            "path": options["directory"].resolve(), "vendor": connection.display_name,
            "tables": len(manifest["rows"]), "rows": sum(manifest["rows"].values()),
            "files": len(manifest["files"]["entries"]), "size": filesizeformat(total_size(manifest)),
        }
        self.stdout.write(self.style.SUCCESS(line))
