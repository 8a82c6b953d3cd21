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

A service that has locked a cluster year's row and read its phase itself runs
its writes to that year's rows inside ``locked_open(cluster_year)``: the
guard's query would only read the same row again under the same lock, so it is
skipped while that phase is not frozen for the model written.
"""

import contextlib
import contextvars

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.translation import gettext_lazy as _

YEAR_FROZEN = _("This cluster year's results are frozen (the year is closed or its scoring is closed); "
                "it can no longer be changed except by an amendment with a reason.")

_amending = contextvars.ContextVar("amending", default=False)
_locked_phase = contextvars.ContextVar("locked_phase", default=None)


@contextlib.contextmanager
def amendment():
    """The explicit correction path: frozen scores and sheets may be written inside it."""
    token = _amending.set(True)
    try:
        yield
    finally:
        _amending.reset(token)


@contextlib.contextmanager
def locked_open(cluster_year):
    """
    Writes of the rows of ``cluster_year`` only, whose row the caller holds under
    ``select_for_update`` in the current transaction (so its phase cannot change
    before the commit). Rows of a model that freezes in that phase are still
    refused, without a query.
    """
    if not transaction.get_connection().in_atomic_block:
        raise transaction.TransactionManagementError("locked_open() needs the transaction that locked the year.")
    token = _locked_phase.set(cluster_year.phase)
    try:
        yield
    finally:
        _locked_phase.reset(token)


def _known_frozen(model) -> bool | None:
    """Whether the locked year of ``locked_open`` is frozen for ``model``; None outside it (ask the database)."""
    phase = _locked_phase.get()
    return None if phase is None else phase in model.frozen_phases


def _phase_lookup(model) -> str:
    return f"{model.year_path}__phase__in" if model.year_path else "phase__in"


class FrozenQuerySet(models.QuerySet):
    def _refuse_frozen(self) -> None:
        if _amending.get() and self.model.amendable:
            return
        frozen = _known_frozen(self.model)
        if frozen is None:
            frozen = self.filter(**{_phase_lookup(self.model): self.model.frozen_phases}).exists()
        if frozen:
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
        known = _known_frozen(type(self))
        if known is not None:
            return known
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
