from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ClustersConfig(AppConfig):
    name = "clusters"
    verbose_name = _("Units and clusters")

    def ready(self) -> None:
        from . import audit, backends

        audit.connect()
        backends.connect()
