"""The permission matrices cannot go stale: every route of the project has a row."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.awards.test_award_views import MATRIX as AWARD_PAGES_MATRIX
from tests.awards.test_views import MATRIX as AWARDS_MATRIX
from tests.clusters.test_views import MATRIX as CLUSTERS_MATRIX
from tests.scoring.test_results_views import MATRIX as RESULTS_MATRIX
from tests.scoring.test_views import MATRIX as SCORING_MATRIX

# Django's own views (auth, i18n, admin) are tested where they matter.
FRAMEWORK_ROUTES = {"login", "logout", "password_change", "password_change_done", "set_language"}


def project_route_names() -> set[str]:
    names = set()

    def walk(patterns, namespace):
        for p in patterns:
            if isinstance(p, URLResolver):
                if p.app_name == "admin":
                    continue
                walk(p.url_patterns, f"{namespace}{p.namespace}:" if p.namespace else namespace)
            elif isinstance(p, URLPattern) and p.name:
                names.add(f"{namespace}{p.name}")

    walk(get_resolver().url_patterns, "")
    return names - FRAMEWORK_ROUTES


# Every matrix of the project: a new one is added here.
MATRICES = (CLUSTERS_MATRIX, SCORING_MATRIX, RESULTS_MATRIX, AWARDS_MATRIX, AWARD_PAGES_MATRIX)


def test_every_route_has_a_row_in_a_matrix():
    covered = set().union(*MATRICES)
    assert project_route_names() == covered


# --- what every row states, and that a hidden object looks like a missing one ----------------------

def all_matrices() -> dict:
    merged = {}
    for matrix in MATRICES:
        for route, rows in matrix.items():
            merged.setdefault(route, {}).update(rows)
    return merged


def test_every_row_answers_get_and_post_for_every_persona():
    """Each route states the answer of all 9 personas to GET and to POST, with one of the allowed codes."""
    from tests.conftest import PERSONAS
    from tests.matrix import FORBIDDEN, HIDDEN, LOGIN, NOT_ALLOWED, OK

    for route, rows in all_matrices().items():
        assert {case.split()[0] for case in rows} == {"GET", "POST"}, route
        for case, row in rows.items():
            assert len(row) == len(PERSONAS), (route, case)
            assert set(row) <= {OK, LOGIN, FORBIDDEN, HIDDEN, NOT_ALLOWED}, (route, case)
            # Only the anonymous visitor is sent to the login page (a 302 elsewhere is a redirect after a POST).
            assert row[0] in (LOGIN, NOT_ALLOWED), (route, case)


def routes_with_ids() -> list[tuple[str, dict]]:
    """(route, kwargs naming objects that do not exist) for every route with an object in its path."""
    found = []

    def walk(patterns, namespace):
        for p in patterns:
            if isinstance(p, URLResolver):
                if p.app_name != "admin":
                    walk(p.url_patterns, f"{namespace}{p.namespace}:" if p.namespace else namespace)
            elif isinstance(p, URLPattern) and p.name and p.pattern.converters:
                kwargs = {}
                for name, converter in p.pattern.converters.items():
                    kwargs[name] = {"document": "ranking", "fmt": "csv"}.get(name, 987654)
                if any(isinstance(v, int) for v in kwargs.values()):
                    found.append((f"{namespace}{p.name}", kwargs))

    walk(get_resolver().url_patterns, "")
    return sorted(found)


@pytest.mark.parametrize(("route", "kwargs"), routes_with_ids(), ids=[r for r, _ in routes_with_ids()])
def test_a_missing_object_answers_like_a_hidden_one(client, world, route, kwargs):
    """
    No id is leaked: an object that does not exist answers 404 to every signed-in persona, administrators
    included, exactly as an existing object of another unit or cluster does in the matrices (HIDDEN).
    """
    from tests.conftest import PERSONAS
    from tests.matrix import LOGIN, NOT_ALLOWED

    rows = all_matrices()[route]
    target = reverse(route, kwargs=kwargs)
    for method in ("GET", "POST"):
        allowed = any(row != [NOT_ALLOWED] * 9 for case, row in rows.items() if case.split()[0] == method)
        for persona in PERSONAS:
            client.logout()
            if world.users[persona] is not None:
                client.force_login(world.users[persona])
            response = client.get(target) if method == "GET" else client.post(target, {})
            if not allowed:
                expected = NOT_ALLOWED
            elif persona == "anonymous":
                expected = LOGIN
            else:
                expected = 404
            assert response.status_code == expected, (method, persona)
