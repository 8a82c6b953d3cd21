"""The permission matrices' shared parts: the expected answers and how one cell is checked."""

from django.urls import reverse

from tests.conftest import PERSONAS

LOGIN, OK, REDIRECT, FORBIDDEN, HIDDEN, NOT_ALLOWED = 302, 200, 302, 403, 404, 405


def cases(matrix: dict) -> list[tuple]:
    """(route, case, persona, expected) for every cell of a matrix {route: {case: [answer per persona]}}."""
    return [
        (route, case, persona, expected)
        for route, rows in matrix.items()
        for case, row in rows.items()
        for persona, expected in zip(PERSONAS, row, strict=True)
    ]


def assert_answer(client, method: str, target: str, data: dict, persona: str, expected: int) -> None:
    """One cell: the status code, and an anonymous visitor sent to the login page."""
    response = client.get(target) if method == "GET" else client.post(target, data)
    assert response.status_code == expected
    if persona == "anonymous" and expected == LOGIN:
        assert response["Location"].startswith(reverse("login"))
