from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScoringConfig(AppConfig):
    name = "scoring"
    verbose_name = _("Scoring")

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_delete, post_save

        from clusters.models import Cluster, Unit

        from . import ranking
        from .models import CriteriaSet, Criterion, ResultSnapshot

        # What a cached frozen ranking shows besides its snapshot (see ranking.GENERATION_KEY).
        for model in (Cluster, Unit, ResultSnapshot, CriteriaSet, Criterion):
            for signal in (post_save, post_delete):
                signal.connect(ranking.new_frozen_generation, sender=model,
                               dispatch_uid=f"frozen-ranking-{signal is post_save}-{model.__name__}")
        # The snapshots' authors by name: a user saved with more than the time of a login.
        user_model = get_user_model()
        post_save.connect(ranking.user_saved, sender=user_model, dispatch_uid="frozen-ranking-user-saved")
        post_delete.connect(ranking.new_frozen_generation, sender=user_model, dispatch_uid="frozen-ranking-user-deleted")
