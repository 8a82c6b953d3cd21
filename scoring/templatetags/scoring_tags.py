from django import template

from ..ranking import separated_label
from ..validators import format_points

register = template.Library()


@register.filter
def points(value) -> str:
    """12.50 → "12,5"; blank stays blank."""
    return format_points(value)


@register.filter
def row_fields(form, criterion_id) -> dict:
    """The bound fields of one criterion's row: ``{"points": …, "note": …}`` by prefix."""
    suffix = f"_{criterion_id}"
    return {name[: -len(suffix)]: form[name] for name in form.fields if name.endswith(suffix)}


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if mapping else None


@register.filter
def make_list_of_words(text: str) -> list[str]:
    return text.split()


@register.filter
def tie_break_label(key: str) -> str:
    return separated_label(key)
