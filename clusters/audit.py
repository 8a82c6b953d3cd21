"""
The audit log: every security-relevant action leaves one ``AuditEvent``.

``record`` is called by the services (closing the scoring, amendments, phase
changes, votes, award decisions) inside their own transaction, so a refused or
failed action leaves no row. The receivers below, connected in
``ClustersConfig.ready``, record what happens outside the services: logins,
failed logins and lockouts (django-axes), accounts, roles, groups and
permissions, whoever changes them (admin, shell, demo loader).

Secret ballots stay secret: a ballot's row says which unit voted in which
round and who cast it, nothing about the choice, and is dated with the round's
opening rather than the moment it was cast (see ``AuditEvent``).
"""

import ipaddress

from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.utils import timezone
from simple_history.models import HistoricalRecords

from .models import AuditEvent, RoleAssignment, User

Action = AuditEvent.Action
ACCOUNT_FIELDS = ("is_active", "is_staff", "is_superuser")
TARGET_LENGTH = AuditEvent._meta.get_field("target_repr").max_length


def client_ip(request) -> str | None:
    """
    The client's address. With ``TRUSTED_PROXIES`` reverse proxies in front,
    each appending to X-Forwarded-For, it is the entry the outermost proxy
    added; entries further left are whatever the client sent. Also Axes'
    ``AXES_CLIENT_IP_CALLABLE``, so throttling and the log agree.
    """
    address = request.META.get("REMOTE_ADDR")
    hops = settings.TRUSTED_PROXIES
    if hops:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= hops:
            address = forwarded[-hops]
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def current_request():
    """The request being served, if any (simple_history's middleware keeps it for the histories too)."""
    return getattr(HistoricalRecords.context, "request", None)


def _text(value) -> str:
    return str(value).replace("\x00", "")


def record(actor, action: str, target=None, *, reason="", detail: dict | None = None, request=None,
           when=None) -> AuditEvent:
    """
    Write one row: ``actor`` (a user, or None for the system or an anonymous
    visitor) did ``action`` to ``target`` (a model instance, or a text such as
    the username of a failed login). The address comes from ``request``, by
    default the request being served.
    """
    event = build(actor, action, target, reason=reason, detail=detail, request=request, when=when)
    event.save(force_insert=True)
    return event


def build(actor, action: str, target=None, *, reason="", detail: dict | None = None, request=None,
          when=None) -> AuditEvent:
    """The row ``record`` writes, unsaved (to write many with one ``bulk_create``)."""
    request = request if request is not None else current_request()
    event = AuditEvent(
        when=when or timezone.now(),
        actor=actor,
        actor_name=actor.get_username() if actor is not None else "",
        action=action,
        reason=_text(reason),
        detail=detail or {},
        ip_address=client_ip(request) if request is not None else None,
    )
    if isinstance(target, models.Model):
        event.target_type = ContentType.objects.get_for_model(target)
        event.target_id = str(target.pk)
    event.target_repr = _text(target if target is not None else "")[:TARGET_LENGTH]
    return event


def _acting_user(instance=None):
    """Who changes ``instance``: the user a service named, else the user of the request being served."""
    user = getattr(instance, "_history_user", None)
    if user is None:
        user = getattr(current_request(), "user", None)
    return user if user is not None and user.is_authenticated else None


# --- logins ------------------------------------------------------------------------------------


def _account(username: str):
    return User.objects.filter(username=username).first() if username else None


def _logged_in(sender, request, user, **kwargs) -> None:
    record(user, Action.LOGIN, user, request=request)


def _logged_out(sender, request, user, **kwargs) -> None:
    if user is not None:
        record(user, Action.LOGOUT, user, request=request)


def _login_failed(sender, credentials: dict, request=None, **kwargs) -> None:
    username = _text(credentials.get(User.USERNAME_FIELD) or "")
    record(None, Action.LOGIN_FAILED, _account(username) or username, request=request)


def _locked_out(sender, request, username, ip_address=None, **kwargs) -> None:
    username = _text(username or "")
    detail = {
        "failures": getattr(request, "axes_failures_since_start", None),
        "cool_off_minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
    }
    record(None, Action.LOCKED_OUT, _account(username) or username, request=request, detail=detail)


# --- accounts, groups and permissions ----------------------------------------------------------


def _user_before(sender, instance: User, update_fields=None, **kwargs) -> None:
    watched = {*ACCOUNT_FIELDS, "password"}
    if instance.pk and (update_fields is None or watched & set(update_fields)):
        # What this object last saved, else what the database holds (one query).
        saved = instance.__dict__.get("_audit_saved")
        if saved:
            instance._audit_before = dict(saved)
        else:
            instance._audit_before = User.objects.filter(pk=instance.pk).values(*watched).first()


def _user_saved(sender, instance: User, created: bool, update_fields=None, **kwargs) -> None:
    flags = {field: getattr(instance, field) for field in ACCOUNT_FIELDS}
    before = instance.__dict__.pop("_audit_before", None)
    current = {**flags, "password": instance.password}
    if update_fields is None:  # every field written: the database now holds these
        instance._audit_saved = current
    elif "_audit_saved" in instance.__dict__:
        instance._audit_saved.update({field: current[field] for field in update_fields if field in current})
    if created:
        record(_acting_user(), Action.ACCOUNT_CREATED, instance, detail=flags)
        return
    if before is None:
        return
    changes = {field: [before[field], value] for field, value in flags.items() if before[field] != value}
    if changes:
        record(_acting_user(), Action.ACCOUNT_CHANGED, instance, detail=changes)
    # ``_password`` holds a newly set password until the save ends (not a hash upgrade at login);
    # the first password of an account is part of creating it.
    had_password = bool(before["password"]) and not before["password"].startswith("!")
    if instance._password is not None and had_password:
        record(_acting_user(), Action.PASSWORD_CHANGED, instance)


def _user_deleted(sender, instance: User, **kwargs) -> None:
    record(_acting_user(), Action.ACCOUNT_DELETED, instance)


def _m2m_changed(sender, instance, action: str, model, pk_set, **kwargs) -> None:
    if action not in ("post_add", "post_remove", "post_clear") or (action != "post_clear" and not pk_set):
        return
    field = {
        User.groups.through: "groups",
        User.user_permissions.through: "user_permissions",
        Group.permissions.through: "permissions",
    }[sender]
    if action == "post_clear":
        detail = {"field": field, "cleared": True}
    else:
        names = sorted(str(obj) for obj in model.objects.filter(pk__in=pk_set))
        detail = {"field": field, "added" if action == "post_add" else "removed": names}
    record(_acting_user(), Action.PERMISSIONS_CHANGED, instance, detail=detail)


# --- role assignments --------------------------------------------------------------------------


def _role_state(role: RoleAssignment) -> dict:
    return {
        "user": str(role.user),
        "role": role.role,
        "unit": str(role.unit) if role.unit_id else "",
        "superior": str(role.superior) if role.superior_id else "",
    }


def _role_before(sender, instance: RoleAssignment, **kwargs) -> None:
    if instance.pk:
        old = RoleAssignment.objects.filter(pk=instance.pk).select_related("user", "unit", "superior").first()
        instance._audit_before = _role_state(old) if old is not None else None


def _role_saved(sender, instance: RoleAssignment, created: bool, **kwargs) -> None:
    after = _role_state(instance)
    if created:
        record(_acting_user(instance), Action.ROLE_GRANTED, instance.user, detail=after)
        return
    before = instance.__dict__.pop("_audit_before", None)
    if before is not None and before != after:
        detail = {"before": before, "after": after}
        record(_acting_user(instance), Action.ROLE_CHANGED, instance.user, detail=detail)


def _role_deleted(sender, instance: RoleAssignment, **kwargs) -> None:
    # Deleting a user deletes its roles first: the user row still exists here.
    user = User.objects.filter(pk=instance.user_id).first()
    state = {
        "user": str(user) if user else "",
        "role": instance.role,
        "unit": str(instance.unit) if instance.unit_id else "",
        "superior": str(instance.superior) if instance.superior_id else "",
    }
    record(_acting_user(instance), Action.ROLE_REVOKED, user or state["user"], detail=state)


def connect() -> None:
    """Connect the receivers (``ClustersConfig.ready``); idempotent."""
    from axes.signals import user_locked_out

    for signal, receiver, sender in [
        (user_logged_in, _logged_in, None),
        (user_logged_out, _logged_out, None),
        (user_login_failed, _login_failed, None),
        (user_locked_out, _locked_out, None),
        (pre_save, _user_before, User),
        (post_save, _user_saved, User),
        (post_delete, _user_deleted, User),
        (pre_save, _role_before, RoleAssignment),
        (post_save, _role_saved, RoleAssignment),
        (post_delete, _role_deleted, RoleAssignment),
        (m2m_changed, _m2m_changed, User.groups.through),
        (m2m_changed, _m2m_changed, User.user_permissions.through),
        (m2m_changed, _m2m_changed, Group.permissions.through),
    ]:
        signal.connect(receiver, sender=sender, dispatch_uid=f"audit-{receiver.__name__}-{sender}")
