"""
Points stored as integer hundredths behind a ``Decimal`` interface.

SQLite sums ``DecimalField`` values as floats (998999.999999643 for 999000.00
measured on this machine), which would break totals and tie detection on the
embedded database. Integers sum exactly on SQLite and PostgreSQL alike, and an
aggregate over this field (``Sum("points")``) comes back as an exact Decimal.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

TWO_PLACES = Decimal("0.01")
POINTS_MAX_DIGITS = 7

INVALID_POINTS = _("Enter a number with at most 2 decimal places.")
POINTS_TOO_LARGE = _("This number is too large.")
# Far above any maximum. Checked before rounding: quantizing 1e26 or more to hundredths
# overflows the decimal context (InvalidOperation), and "1e30" fits in a 12-character field.
POINTS_LIMIT = Decimal(10) ** 12


def to_points(value) -> Decimal | None:
    """Parse a value into points with exactly 2 places; refuse more places or non-numbers."""
    if value is None or value == "":
        return None
    if isinstance(value, float):
        value = repr(value)
    try:
        number = Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        raise ValidationError(INVALID_POINTS, code="invalid") from None
    if not number.is_finite():
        raise ValidationError(INVALID_POINTS, code="invalid")
    if abs(number) >= POINTS_LIMIT:
        raise ValidationError(POINTS_TOO_LARGE, code="too_large")
    if number != number.quantize(TWO_PLACES, rounding=ROUND_HALF_UP):
        raise ValidationError(INVALID_POINTS, code="invalid")
    return number.quantize(TWO_PLACES)


class PointsField(models.BigIntegerField):
    description = _("Points (2 decimal places, stored in hundredths)")

    def from_db_value(self, value, expression, connection):
        return None if value is None else Decimal(int(value)).scaleb(-2).quantize(TWO_PLACES)

    def to_python(self, value):
        if isinstance(value, Decimal) or value is None or isinstance(value, str | float):
            return to_points(value)
        if isinstance(value, int):
            return Decimal(value).quantize(TWO_PLACES)
        return to_points(value)

    def get_prep_value(self, value):
        points = self.to_python(value)
        return None if points is None else int(points.scaleb(2))

    def get_db_prep_save(self, value, connection):
        if hasattr(value, "as_sql"):  # an expression (F(), the Case of bulk_update) compiles itself
            return value
        return self.get_prep_value(value)

    def value_to_string(self, obj):
        value = self.value_from_object(obj)
        return "" if value is None else str(value)

    def formfield(self, **kwargs):
        return forms.DecimalField(
            **{"max_digits": POINTS_MAX_DIGITS, "decimal_places": 2, "localize": True, "required": not self.null,
               "label": self.verbose_name, "help_text": self.help_text, **kwargs}
        )

    def get_internal_type(self):
        return "BigIntegerField"
