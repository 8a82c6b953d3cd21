"""
Django's ModelBackend with the signed-in user, and the user's role
assignments, read from the cache.

``AuthenticationMiddleware`` loads the user of the session on every request,
and every permission check needs the user's roles: two queries for rows that
change rarely. Here both come from the cache (``USER_CACHE_SECONDS``), and
every save or deletion of the user or of one of its role assignments removes
the cached copy at once and again when its transaction commits, so a changed
password (the session hash), a deactivation, a new name or a new or removed
role takes effect on the next request. A change written without ``save()``
(``QuerySet.update``) is seen within ``USER_CACHE_SECONDS``.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save

KEY = "auth-user:v2:%s"


class CachedModelBackend(ModelBackend):
    def get_user(self, user_id):
        from . import permissions

        key = KEY % user_id
        cached = cache.get(key)
        if cached is None:
            user = super().get_user(user_id)
            if user is None:
                return None
            cached = (user, list(permissions.role_rows(user)))
            cache.set(key, cached, settings.USER_CACHE_SECONDS)
        user, roles = cached
        permissions.remember_roles(user, roles)
        return user if self.user_can_authenticate(user) else None


def _forget(user_id) -> None:
    key = KEY % user_id
    cache.delete(key)
    transaction.on_commit(lambda: cache.delete(key), robust=True)


def forget_user(sender, instance, **kwargs) -> None:
    _forget(instance.pk)


def forget_roles(sender, instance, **kwargs) -> None:
    _forget(instance.user_id)


def connect() -> None:
    from .models import RoleAssignment

    user_model = get_user_model()
    post_save.connect(forget_user, sender=user_model, dispatch_uid="cached-user-saved")
    post_delete.connect(forget_user, sender=user_model, dispatch_uid="cached-user-deleted")
    post_save.connect(forget_roles, sender=RoleAssignment, dispatch_uid="cached-user-roles-saved")
    post_delete.connect(forget_roles, sender=RoleAssignment, dispatch_uid="cached-user-roles-deleted")
