"""
The secret ballot, audited over the whole database.

Four member units cast their ballots through the ballot page (the full request
path: middleware, views, services) in a secret vote with two candidates. Before
and after each ballot every table of the database is read
(``connection.introspection.table_names()``, so tables added later are
covered too) and compared row by row. What a ballot may leave behind:

- ``awards_participation``: one new row, holding only the vote and the voter;
- ``awards_candidate``: each candidate's row with exactly one of its counters
  (agree / disagree / blank) one higher, nothing else changed;
- any other table (an audit log, a history table, a session): new rows only,
  none of which holds a choice (the words agree / disagree / blank in English
  or Vietnamese), refers to a candidate, or carries a counter column; no row
  changed or deleted.

So no column, ordering, id sequence or timestamp ties a voter to a choice:
the rows that name a voter say nothing of the choice, and the rows that count
choices carry no voter, id sequence or time. Then the tally equals the ballots
and the turnout equals the voter roll.
"""

import datetime
from collections import Counter

import pytest
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from awards import services
from awards.models import Candidate, Participation, Vote
from clusters.models import RoleAssignment
from tests.awards.conftest import arrange_conference
from tests.factories import RoleFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(datetime.datetime(2024, 11, 1, 14, 0))
CHOICE_WORDS = ("agree", "disagree", "blank", "đồng ý", "không đồng ý", "để trống")
COUNTERS = {"agree", "disagree", "blank"}


def read_database() -> dict[str, dict]:
    """Every table: {primary key: {column: value}} (the whole row as the key where a table has no primary key)."""
    tables = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 - introspected names
            columns = [c[0] for c in cursor.description]
            fetched = cursor.fetchall()
            pk_columns = connection.introspection.get_primary_key_columns(cursor, table) or columns
            rows = {}
            for values in fetched:
                values = tuple(bytes(v) if isinstance(v, memoryview) else v for v in values)
                row = dict(zip(columns, values, strict=True))
                rows[tuple(row[c] for c in pk_columns)] = row
            tables[table] = rows
    return tables


def references_to(target: str) -> dict[str, set[str]]:
    """{table: columns} of every foreign key pointing at the table ``target``."""
    found = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            relations = connection.introspection.get_relations(cursor, table)
            found[table] = {column for column, (_col, other) in relations.items() if other == target}
    return found


def diff(before: dict, after: dict) -> dict[str, dict]:
    """{table: {"added": [rows], "changed": [(old, new)], "removed": [rows]}} for the tables that differ."""
    changes = {}
    for table in sorted(set(before) | set(after)):
        old, new = before.get(table, {}), after.get(table, {})
        added = [new[k] for k in new.keys() - old.keys()]
        removed = [old[k] for k in old.keys() - new.keys()]
        changed = [(old[k], new[k]) for k in old.keys() & new.keys() if old[k] != new[k]]
        if added or removed or changed:
            changes[table] = {"added": added, "changed": changed, "removed": removed}
    return changes


def mentions_a_choice(value) -> bool:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return isinstance(value, str) and any(word in value.lower() for word in CHOICE_WORDS)


def session_values(row: dict) -> list:
    """A session row's stored data, decoded (it is signed, so the words cannot be searched in the raw text)."""
    return list(SessionStore().decode(row["session_data"]).items()) if "session_data" in row else []


@pytest.fixture
def secret_vote(world):
    """Cụm 6 2024 in the conference (A 90, B 80, C 70, G 60); round 1, secret, candidates A and B (added)."""
    w = arrange_conference(world)
    w.users["staff_g"] = RoleFactory(user=UserFactory(username="staff_g"), role=RoleAssignment.Role.UNIT_STAFF,
                                     unit=w.units["G"]).user
    w.vote = services.prepare_vote(cluster_year=w.y6, by=w.users["officer_a"], now=NOW,
                                   extra=[(w.units["B"], "Thành tích huấn luyện nổi bật")])
    assert w.vote.secret
    w.candidates = {c.unit.name[-1]: c for c in w.vote.candidates.select_related("unit")}
    assert sorted(w.candidates) == ["A", "B"]
    return w


# voter (the persona casting the unit's ballot) → its choice for candidates A and B
BALLOTS = [
    ("officer_a", "A", {"A": "blank", "B": "agree"}),
    ("staff_b", "B", {"A": "agree", "B": "disagree"}),
    ("staff_c", "C", {"A": "agree", "B": "agree"}),
    ("staff_g", "G", {"A": "agree", "B": "blank"}),
]


def test_a_secret_ballot_leaves_no_link_between_voter_and_choice(client, secret_vote):
    w = secret_vote
    references = references_to(Candidate._meta.db_table)
    # A generic relation (content type + id, as an audit log keeps) must not point at a candidate either.
    typed = references_to(ContentType._meta.db_table)
    candidate_type = ContentType.objects.get_for_model(Candidate).pk
    ballot_url = reverse("awards:ballot", args=[w.vote.pk])
    participation, candidate = Participation._meta.db_table, Candidate._meta.db_table
    for persona, unit, choices in BALLOTS:
        client.force_login(w.users[persona])
        before = read_database()
        response = client.post(ballot_url, {f"candidate_{w.candidates[c].pk}": v for c, v in choices.items()})
        assert response.status_code == 302, persona
        changes = diff(before, read_database())

        # The roll: one row, the vote and the voter, nothing else (no time, no choice).
        roll = changes.pop(participation)
        assert (roll["changed"], roll["removed"]) == ([], [])
        assert roll["added"] == [{"id": roll["added"][0]["id"], "vote_id": w.vote.pk, "unit_id": w.units[unit].pk}]

        # The counters: one of the three per candidate, one higher; no other column touched.
        counted = changes.pop(candidate)
        assert (counted["added"], counted["removed"]) == ([], [])
        moved = {}
        for old, new in counted["changed"]:
            delta = {k: new[k] - old[k] for k in new if new[k] != old[k]}
            assert set(delta) <= COUNTERS and list(delta.values()) == [1], delta
            moved[new["id"]] = next(iter(delta))
        assert moved == {w.candidates[c].pk: v for c, v in choices.items()}

        # Anything else (audit log, history, session): new rows only, none of them saying the choice.
        for table, change in changes.items():
            if table == "django_session":
                rows = [new for _old, new in change["changed"]] + change["added"]
                assert not any(mentions_a_choice(v) for row in rows for item in session_values(row) for v in item)
                continue
            assert (table, change["changed"], change["removed"]) == (table, [], []), table
            for row in change["added"]:
                assert not COUNTERS & set(row), (table, row)
                assert not any(row[column] is not None for column in references[table]), (table, row)
                assert not any(row[column] == candidate_type for column in typed[table]), (table, row)
                assert not any(mentions_a_choice(value) for value in row.values()), (table, row)

    # The counting rows carry no voter, time or sequence of their own.
    candidate_columns = {f.column for f in Candidate._meta.concrete_fields}
    assert not any("unit" in c and c != "unit_id" for c in candidate_columns)
    assert not any(f.get_internal_type() in ("DateTimeField", "DateField") for f in Candidate._meta.concrete_fields)
    assert {f.column for f in Participation._meta.concrete_fields} == {"id", "vote_id", "unit_id"}

    # The tally equals the ballots; the turnout equals the voter roll.
    expected = {c: Counter(choices[c] for _p, _u, choices in BALLOTS) for c in "AB"}
    assert {c: Candidate.objects.values("agree", "disagree", "blank").get(pk=cand.pk)
            for c, cand in w.candidates.items()} == {
        c: {k: expected[c][k] for k in ("agree", "disagree", "blank")} for c in "AB"}
    roll = set(w.y6.memberships.values_list("unit_id", flat=True))
    assert set(Participation.objects.filter(vote=w.vote).values_list("unit_id", flat=True)) == roll
    assert Participation.objects.filter(vote=w.vote).count() == len(BALLOTS) == len(roll)

    vote = services.close_vote(vote=w.vote, by=w.users["officer_a"], now=NOW)
    assert (vote.status, vote.outcome, vote.leader) == (Vote.Status.CLOSED, Vote.Outcome.ACCLAIMED, w.units["A"])
    assert vote.explanation.splitlines()[:2] == ["Đơn vị A: 3/4 đồng ý = 75% > 50% → đạt",
                                                 "Đơn vị B: 2/4 đồng ý = 50% ≤ 50% → không đạt"]

