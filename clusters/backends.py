"""
Django's ModelBackend with the signed-in user read from the cache.

``AuthenticationMiddleware`` loads the user of the session on every request:
one query for a row that changes rarely. Here it comes from the cache
(``USER_CACHE_SECONDS``), and every save or deletion of a user removes the
cached copy at once and again when its transaction commits, so a changed
password (the session hash), a deactivation or a new name takes effect on the
next request. A change written without ``save()`` (``QuerySet.update``) is
seen within ``USER_CACHE_SECONDS``.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save

KEY = "auth-user:v1:%s"


class CachedModelBackend(ModelBackend):
    def get_user(self, user_id):
        key = KEY % user_id
        user = cache.get(key)
        if user is None:
            user = super().get_user(user_id)
            if user is not None:
                cache.set(key, user, settings.USER_CACHE_SECONDS)
        return user if self.user_can_authenticate(user) else None


def forget_user(sender, instance, **kwargs) -> None:
    key = KEY % instance.pk
    cache.delete(key)
    transaction.on_commit(lambda: cache.delete(key), robust=True)


def connect() -> None:
    user_model = get_user_model()
    post_save.connect(forget_user, sender=user_model, dispatch_uid="cached-user-saved")
    post_delete.connect(forget_user, sender=user_model, dispatch_uid="cached-user-deleted")
