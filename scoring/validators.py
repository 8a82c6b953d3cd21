"""
Rules on single values, shared by the forms (to show the error next to the
field) and the services (so no path writes a value the forms would refuse).
"""

from decimal import Decimal
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .fields import to_points
from .models import Criterion

POINTS_NEGATIVE = _("Points cannot be negative.")
POINTS_ABOVE_MAX = _("At most %(max)s points for this criterion.")
DEDUCTION_ABOVE_MAX = _("At most %(max)s points can be deducted for this item.")
FILE_TYPE = _("%(name)s: allowed files are PDF, images, Word and Excel.")
FILE_SIZE = _("%(name)s is larger than %(limit)s MB.")
FILE_EMPTY = _("%(name)s is empty.")

ALLOWED_EXTENSIONS = {".pdf", ".png", ".jpg", ".jpeg", ".gif", ".webp", ".doc", ".docx", ".xls", ".xlsx", ".odt", ".ods"}


def validate_points(criterion: Criterion, value) -> Decimal | None:
    """Parse and check points for a leaf criterion: 0..max with at most 2 places; None when blank."""
    points = to_points(value)
    if points is None:
        return None
    if points < 0:
        raise ValidationError(POINTS_NEGATIVE, code="negative")
    if points > criterion.max_points:
        message = DEDUCTION_ABOVE_MAX if criterion.kind == Criterion.Kind.DEDUCTION else POINTS_ABOVE_MAX
        raise ValidationError(message, code="above_max", params={"max": format_points(criterion.max_points)})
    return points


def format_points(points: Decimal | None) -> str:
    """Points as Vietnamese write them: 12,5 or 10 (no trailing zeros, comma as decimal mark)."""
    if points is None or points == "":
        return ""
    text = f"{Decimal(points).normalize():f}"
    return text.replace(".", ",")


def validate_evidence_file(upload) -> None:
    name = PurePath(upload.name).name
    if PurePath(name).suffix.lower() not in ALLOWED_EXTENSIONS:
        raise ValidationError(FILE_TYPE, code="file_type", params={"name": name})
    if upload.size == 0:
        raise ValidationError(FILE_EMPTY, code="file_empty", params={"name": name})
    limit = settings.EVIDENCE_MAX_MB
    if upload.size > limit * 1024 * 1024:
        raise ValidationError(FILE_SIZE, code="file_size", params={"name": name, "limit": limit})
