"""
The last guard of a closed year: rows that belong to a frozen cluster year
refuse to be changed or deleted through the ORM, whatever the path (admin,
shell, management command, a service that forgot its check). The services
check first and say why in the user's words; this only makes sure nothing
slips through.

A model opts in with ``FrozenWithYear``: ``year_path`` leads from its rows to
their ``ClusterYear`` ("" for the cluster year itself) and ``frozen_phases``
names the phases in which they no longer change. ``save()`` of an existing row
and ``delete()`` are refused then, and so are ``update()`` and ``delete()`` on
a queryset that holds such a row. New rows are not refused here: the services
refuse them, and test fixtures build past years directly.

The one writer allowed into a frozen year is the amendment of official points
(``scoring.services.amend_official_points``), which runs inside
``amendment()``.
"""

import contextlib
import contextvars

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

YEAR_FROZEN = _("This cluster year's results are frozen (the year is closed or its scoring is closed); "
                "it can no longer be changed except by an amendment with a reason.")

_amending = contextvars.ContextVar("amending", default=False)


@contextlib.contextmanager
def amendment():
    """The explicit correction path: frozen scores and sheets may be written inside it."""
    token = _amending.set(True)
    try:
        yield
    finally:
        _amending.reset(token)


def _phase_lookup(model) -> str:
    return f"{model.year_path}__phase__in" if model.year_path else "phase__in"


class FrozenQuerySet(models.QuerySet):
    def _refuse_frozen(self) -> None:
        if _amending.get() and self.model.amendable:
            return
        if self.filter(**{_phase_lookup(self.model): self.model.frozen_phases}).exists():
            raise ValidationError(YEAR_FROZEN, code="frozen")

    def update(self, **kwargs):
        self._refuse_frozen()
        return super().update(**kwargs)

    update.queryset_only = True

    def delete(self):
        self._refuse_frozen()
        return super().delete()

    delete.queryset_only = True
    delete.alters_data = True


class FrozenWithYear(models.Model):
    year_path = "cluster_year"
    frozen_phases = ("closed",)
    amendable = False  # may the amendment path write these rows?

    objects = FrozenQuerySet.as_manager()

    class Meta:
        abstract = True

    def is_frozen(self) -> bool:
        """Whether the stored row belongs to a frozen year (read from the database, not from this instance)."""
        if self.pk is None or (_amending.get() and self.amendable):
            return False
        return type(self)._base_manager.filter(
            pk=self.pk, **{_phase_lookup(type(self)): self.frozen_phases}
        ).exists()

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding and self.is_frozen():
            raise ValidationError(YEAR_FROZEN, code="frozen")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.is_frozen():
            raise ValidationError(YEAR_FROZEN, code="frozen")
        return super().delete(*args, **kwargs)
