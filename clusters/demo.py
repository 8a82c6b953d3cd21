"""
The demo: Cụm Thi đua số 6 of the Hanoi Capital Command as in the seed article
(../shared/seed), with its four units, 2024 chaired by Sư đoàn Bộ binh 301;
plus Cụm Thi đua số 7 so that overviews and permissions have something to
separate. Chairs and decisions before 2024 and all of cluster 7 are invented
for the demo. Loading is idempotent: what exists is left as it is.
"""

import datetime
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

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


@dataclass(frozen=True)
class DemoYear:
    year: int
    chair: tuple
    vice_chair: tuple
    phase: str
    basis: str = ClusterYear.ChairBasis.ROTATION
    decision: tuple[str, datetime.date] | None = None
    handover: datetime.date | None = None


CLUSTERS = {
    "Cụm Thi đua số 6": (
        [SD301, TQS, HA_THANH, PB452],
        [
            DemoYear(2022, PB452, HA_THANH, "closed", ClusterYear.ChairBasis.DECISION,
                     ("1968/QĐ-BTL", datetime.date(2021, 12, 20))),
            DemoYear(2023, HA_THANH, SD301, "closed", handover=datetime.date(2022, 11, 10)),
            DemoYear(2024, SD301, TQS, "scoring", handover=datetime.date(2023, 11, 8)),
        ],
    ),
    "Cụm Thi đua số 7": (
        [BA_DINH, HOAN_KIEM, DONG_DA],
        [
            DemoYear(2023, HOAN_KIEM, DONG_DA, "closed", ClusterYear.ChairBasis.DECISION,
                     ("2107/QĐ-BTL", datetime.date(2022, 12, 15))),
            DemoYear(2024, BA_DINH, HOAN_KIEM, "scoring", handover=datetime.date(2023, 11, 15)),
        ],
    ),
}

# username, role, unit (or None for the superior), full name
ACCOUNTS = [
    ("btl", RoleAssignment.Role.COMMAND_OFFICER, None, "Cán bộ Ban Thi đua BTL Thủ đô"),
    ("cumtruong6", RoleAssignment.Role.CLUSTER_OFFICER, SD301, "Cán bộ Cụm trưởng Cụm 6 (Sư đoàn 301)"),
    ("cumtruong7", RoleAssignment.Role.CLUSTER_OFFICER, BA_DINH, "Cán bộ Cụm trưởng Cụm 7 (Ba Đình)"),
    ("sd301", RoleAssignment.Role.UNIT_STAFF, SD301, "Trợ lý thi đua Sư đoàn 301"),
    ("tqs", RoleAssignment.Role.UNIT_STAFF, TQS, "Trợ lý thi đua Trường Quân sự"),
    ("hathanh", RoleAssignment.Role.UNIT_STAFF, HA_THANH, "Trợ lý thi đua Công ty Hà Thành"),
    ("pb452", RoleAssignment.Role.UNIT_STAFF, PB452, "Trợ lý thi đua Trung đoàn 452"),
    ("badinh", RoleAssignment.Role.UNIT_STAFF, BA_DINH, "Trợ lý thi đua BCHQS Ba Đình"),
]

# The phases a demo year walked through, each with the day it was moved.
PHASE_DAYS = {"scoring": (1, 15), "review": (10, 16), "conference": (10, 26), "closed": (11, 5)}


def _user(username: str, *, full_name: str, is_superuser: bool = False) -> User:
    user, created = User.objects.get_or_create(
        username=username,
        defaults={"first_name": full_name, "is_staff": is_superuser, "is_superuser": is_superuser},
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    return user


@transaction.atomic
def load_demo() -> dict[str, int]:
    """Create what is missing of the demo; return how many objects each kind now has."""
    admin = _user("admin", full_name="Quản trị viên Ban Thi đua", is_superuser=True)
    superior, _ = Superior.objects.get_or_create(name=SUPERIOR[0], defaults={"short_name": SUPERIOR[1]})
    units: dict[tuple, Unit] = {}
    for cluster_name, (members, years) in CLUSTERS.items():
        for spec in members:
            units[spec], _ = Unit.objects.get_or_create(
                superior=superior, name=spec[0], defaults={"short_name": spec[1], "kind": spec[2]}
            )
        cluster, _ = Cluster.objects.get_or_create(superior=superior, name=cluster_name)
        for demo in years:
            if ClusterYear.objects.filter(cluster=cluster, year=demo.year).exists():
                continue
            number, date = demo.decision or ("", None)
            cluster_year = services.create_cluster_year(
                cluster=cluster,
                year=demo.year,
                members=[units[spec] for spec in members],
                chair=units[demo.chair],
                by=admin,
                vice_chair=units[demo.vice_chair],
                chair_basis=demo.basis,
                decision_number=number,
                decision_date=date,
                handover_date=demo.handover,
                self_assessment_due=datetime.date(demo.year, 10, 15),
                review_due=datetime.date(demo.year, 10, 25),
            )
            while cluster_year.phase != demo.phase:
                month, day = PHASE_DAYS[cluster_year.next_phase]
                moved_at = timezone.make_aware(datetime.datetime(demo.year, month, day, 8, 0))
                cluster_year = services.advance_phase(
                    cluster_year=cluster_year, by=admin, now=moved_at, reason="Dữ liệu mẫu"
                )
    for username, role, unit_spec, full_name in ACCOUNTS:
        user = _user(username, full_name=full_name)
        target = {"unit": units[unit_spec]} if unit_spec else {"superior": superior}
        RoleAssignment.objects.get_or_create(user=user, role=role, **target)
    return {
        "units": Unit.objects.count(),
        "clusters": Cluster.objects.count(),
        "cluster years": ClusterYear.objects.count(),
        "users": User.objects.count(),
    }
