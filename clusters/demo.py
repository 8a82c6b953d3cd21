"""
The demo, clusters part: Cụm Thi đua số 6 of the Hanoi Capital Command as in
the seed article (../shared/seed), with its four units and its first year,
2022 (chaired by Trung đoàn Pháo binh 452 on the superior's decision); plus
Cụm Thi đua số 7 (2023 and 2024) so that overviews and permissions have
something to separate. Chairs and decisions before 2024 and all of cluster 7
are invented for the demo.

This part creates the units, the clusters, the accounts and the first cluster
years in the planning phase. ``scoring.demo`` attaches the criteria sets and
fills the sheets; ``awards.demo`` drives Cụm 6 year by year — each conference
opens the next year (2023, 2024, 2025) with the chair it hands over to — and
is what ``manage.py load_demo`` runs. Loading is idempotent: a cluster that
already has years is left as it is, and so is every existing account.
"""

import datetime
from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password
from django.db import transaction

from . import services
from .models import Cluster, ClusterYear, RoleAssignment, Superior, Unit, User

DEMO_PASSWORD = "ThiDua@2024"
SUPERIOR = ("Bộ Tư lệnh Thủ đô Hà Nội", "BTL Thủ đô")

SD301 = ("Sư đoàn Bộ binh 301", "Sư đoàn 301", Unit.Kind.MILITARY)
TQS = ("Trường Quân sự Bộ Tư lệnh", "Trường Quân sự", Unit.Kind.SCHOOL)
HA_THANH = ("Công ty TNHHMTV Hà Thành", "Công ty Hà Thành", Unit.Kind.ENTERPRISE)
PB452 = ("Trung đoàn Pháo binh 452", "Trung đoàn 452", Unit.Kind.MILITARY)
BA_DINH = ("Ban Chỉ huy Quân sự quận Ba Đình", "BCHQS Ba Đình", Unit.Kind.MILITARY)
HOAN_KIEM = ("Ban Chỉ huy Quân sự quận Hoàn Kiếm", "BCHQS Hoàn Kiếm", Unit.Kind.MILITARY)
DONG_DA = ("Ban Chỉ huy Quân sự quận Đống Đa", "BCHQS Đống Đa", Unit.Kind.MILITARY)

CLUSTER_6 = "Cụm Thi đua số 6"
CLUSTER_7 = "Cụm Thi đua số 7"


@dataclass(frozen=True)
class DemoYear:
    year: int
    chair: tuple
    vice_chair: tuple
    basis: str = ClusterYear.ChairBasis.ROTATION
    decision: tuple[str, datetime.date] | None = None
    handover: datetime.date | None = None


CLUSTERS = {
    CLUSTER_6: (
        [SD301, TQS, HA_THANH, PB452],
        [
            # 2023 and 2024 are opened by the conference of the year before (``awards.demo``).
            DemoYear(2022, PB452, HA_THANH, ClusterYear.ChairBasis.DECISION,
                     ("1968/QĐ-BTL", datetime.date(2021, 12, 20))),
        ],
    ),
    CLUSTER_7: (
        [BA_DINH, HOAN_KIEM, DONG_DA],
        [
            DemoYear(2023, HOAN_KIEM, DONG_DA, ClusterYear.ChairBasis.DECISION,
                     ("2107/QĐ-BTL", datetime.date(2022, 12, 15))),
            DemoYear(2024, BA_DINH, HOAN_KIEM, handover=datetime.date(2023, 11, 15)),
        ],
    ),
}

# username, role, unit (or None for the superior), full name
ACCOUNTS = [
    ("btl", RoleAssignment.Role.COMMAND_OFFICER, None, "Cán bộ Ban Thi đua BTL Thủ đô"),
    ("cumtruong6", RoleAssignment.Role.CLUSTER_OFFICER, SD301, "Cán bộ Cụm trưởng Cụm 6 (Sư đoàn 301)"),
    ("cumtruong6tqs", RoleAssignment.Role.CLUSTER_OFFICER, TQS, "Cán bộ Cụm trưởng Cụm 6 (Trường Quân sự)"),
    ("cumtruong6pb452", RoleAssignment.Role.CLUSTER_OFFICER, PB452,
     "Cán bộ Cụm trưởng Cụm 6 (Trung đoàn 452)"),
    ("cumtruong6hathanh", RoleAssignment.Role.CLUSTER_OFFICER, HA_THANH,
     "Cán bộ Cụm trưởng Cụm 6 (Công ty Hà Thành)"),
    ("cumtruong7", RoleAssignment.Role.CLUSTER_OFFICER, BA_DINH, "Cán bộ Cụm trưởng Cụm 7 (Ba Đình)"),
    ("sd301", RoleAssignment.Role.UNIT_STAFF, SD301, "Trợ lý thi đua Sư đoàn 301"),
    ("tqs", RoleAssignment.Role.UNIT_STAFF, TQS, "Trợ lý thi đua Trường Quân sự"),
    ("hathanh", RoleAssignment.Role.UNIT_STAFF, HA_THANH, "Trợ lý thi đua Công ty Hà Thành"),
    ("pb452", RoleAssignment.Role.UNIT_STAFF, PB452, "Trợ lý thi đua Trung đoàn 452"),
    ("badinh", RoleAssignment.Role.UNIT_STAFF, BA_DINH, "Trợ lý thi đua BCHQS Ba Đình"),
]


@dataclass
class ClusterDemo:
    """What the clusters part holds for the parts above: the acting users and the years it just created."""

    admin: User
    superior: Superior
    units: dict[tuple, Unit]
    clusters: dict[str, Cluster]
    users: dict[str, User]
    new_years: dict[tuple[str, int], ClusterYear] = field(default_factory=dict)


class _Users:
    """Get or create demo users; the password is hashed once per load (hashing is slow on purpose)."""

    def __init__(self) -> None:
        self._hash = None

    def get(self, username: str, *, full_name: str, is_superuser: bool = False) -> User:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"first_name": full_name, "is_staff": is_superuser, "is_superuser": is_superuser},
        )
        if created:
            self._hash = self._hash or make_password(DEMO_PASSWORD)
            user.password = self._hash
            user.save(update_fields=["password"])
        return user


@transaction.atomic
def load() -> ClusterDemo:
    """
    Create what is missing of the clusters part. A cluster's years are created
    (in planning) only when the cluster has none yet; they are returned in
    ``new_years`` for ``scoring.demo`` and ``awards.demo`` to walk through the
    cycle.
    """
    users = _Users()
    admin = users.get("admin", full_name="Quản trị viên Ban Thi đua", is_superuser=True)
    superior, _ = Superior.objects.get_or_create(name=SUPERIOR[0], defaults={"short_name": SUPERIOR[1]})
    demo = ClusterDemo(admin=admin, superior=superior, units={}, clusters={}, users={"admin": admin})
    for cluster_name, (members, years) in CLUSTERS.items():
        for spec in members:
            demo.units[spec], _ = Unit.objects.get_or_create(
                superior=superior, name=spec[0], defaults={"short_name": spec[1], "kind": spec[2]}
            )
        cluster, _ = Cluster.objects.get_or_create(superior=superior, name=cluster_name)
        demo.clusters[cluster_name] = cluster
        if ClusterYear.objects.filter(cluster=cluster).exists():
            continue
        for spec_year in years:
            number, date = spec_year.decision or ("", None)
            demo.new_years[cluster_name, spec_year.year] = services.create_cluster_year(
                cluster=cluster,
                year=spec_year.year,
                members=[demo.units[spec] for spec in members],
                chair=demo.units[spec_year.chair],
                by=admin,
                vice_chair=demo.units[spec_year.vice_chair],
                chair_basis=spec_year.basis,
                decision_number=number,
                decision_date=date,
                handover_date=spec_year.handover,
                self_assessment_due=datetime.date(spec_year.year, 10, 15),
                review_due=datetime.date(spec_year.year, 10, 25),
            )
    for username, role, unit_spec, full_name in ACCOUNTS:
        user = users.get(username, full_name=full_name)
        target = {"unit": demo.units[unit_spec]} if unit_spec else {"superior": superior}
        RoleAssignment.objects.get_or_create(user=user, role=role, **target)
        demo.users[username] = user
    return demo
