from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScoringConfig(AppConfig):
    name = "scoring"
    verbose_name = _("Scoring")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from clusters.models import Unit

        from . import ranking
        from .models import CriteriaSet, Criterion, ResultSnapshot

        # What a cached frozen ranking shows besides its snapshot (see ranking.GENERATION_KEY).
        for model in (Unit, ResultSnapshot, CriteriaSet, Criterion):
            for signal in (post_save, post_delete):
                signal.connect(ranking.new_frozen_generation, sender=model,
                               dispatch_uid=f"frozen-ranking-{signal is post_save}-{model.__name__}")
