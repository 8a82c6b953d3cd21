"""
Shared by the hostile-input tests: the hypothesis profile, the strategies of
hostile values, the fingerprint of the database and the private storage, and
the check every response must pass.

The property, for every form: the answer is 2xx, 3xx or 4xx (an exception in
a view fails the test, the test client re-raises it) and says something: a
form error or a message. When it refuses the input (a form error, an error or
warning message, or a 4xx), nothing was written: every row of the project's
apps (history included) and every file of the private storage is as before.

Each example runs inside a savepoint that is rolled back, and the files it
stored are removed, so every example starts from the fixture's state.

Profiles: ``hostile-ci`` (the default: derandomized, so CI runs the same
examples every time) and ``hostile-thorough`` (random, ten times the examples),
chosen with HYPOTHESIS_PROFILE; HOSTILE_EXAMPLES multiplies the examples of
either.
"""

import os
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from django.apps import apps
from django.contrib.messages import constants, get_messages
from django.db import connection, transaction
from django.forms import BaseForm
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

settings.register_profile(
    "hostile-ci",
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("hostile-thorough", parent=settings.get_profile("hostile-ci"), derandomize=False)

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "hostile-ci")
if PROFILE not in ("hostile-ci", "hostile-thorough"):
    PROFILE = "hostile-ci"
SCALE = float(os.environ.get("HOSTILE_EXAMPLES", "10" if PROFILE == "hostile-thorough" else "1"))

# Examples run by each property test, and how many of them the view accepted, for the report.
RUN: dict[str, int] = {}
ACCEPTED: dict[str, int] = {}


def hostile(examples: int):
    """The settings of one property test: the profile's, with ``examples`` scaled."""
    return settings(parent=settings.get_profile(PROFILE), max_examples=max(1, int(examples * SCALE)))


def count(name: str) -> None:
    RUN[name] = RUN.get(name, 0) + 1


# --- strategies ----------------------------------------------------------------------------------

# Anything a browser (or a script) can send as UTF-8: every code point but the surrogates.
ANY_CHAR = st.characters(blacklist_categories=("Cs",))
CONTROL = st.characters(min_codepoint=0, max_codepoint=31) | st.sampled_from("\x7f\x85\u2028\u2029\ufeff\u200b")

hostile_text = st.one_of(
    st.text(ANY_CHAR, max_size=40),
    st.text(CONTROL | st.sampled_from("ab =+-@'\"<>&%;"), max_size=20),
    st.builds(lambda head, char, n: head + char * n, st.text(ANY_CHAR, max_size=5), ANY_CHAR,
              st.integers(490, 5000)),
    st.sampled_from([
        "\x00", "a\x00b", " ", "=HYPERLINK(\"http://x\")", "+1", "-1", "@SUM(A1)", "<script>alert(1)</script>",
        "'; DROP TABLE scoring_score; --", "%(user)s", "{{ 7|add:1 }}", "\u202egnp.exe", "Đơn vị ❤️",
        "../../etc/passwd", "\r\n=cmd", "a" * 2001, "\ufeff",
    ]),
)

number_text = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.floats().map(repr),
    st.integers(-(10**40), 10**40).map(str),
    st.from_regex(r"\s?[-+]?\d{0,7}([.,]\d{0,4})?([eE][-+]?\d{1,5})?\s?", fullmatch=True),
    st.sampled_from([
        "", " ", "0", "-0", "1,5", "1.5", "12,50", "1 000", "1.000,5", "1e30", "1E27", "-1e30", "1e-999999",
        "NaN", "sNaN", "-inf", "Infinity", "٣", "²", "١٢", "0x10", "1_0", "12,345", "40", "40,01", "39,99",
        "8", "10", "-1", "+5", "5-", "5,", ",5", "1,,5", "9" * 12,
    ]),
)
points_text = number_text | hostile_text
integer_text = st.one_of(
    st.integers(-(10**20), 10**20).map(str),
    st.sampled_from(["", "0", "-1", "1.0", "1,0", "1e3", "²", "١", " 3 ", "1000", "1001", "32768", "9" * 30]),
    hostile_text,
)
date_text = st.one_of(
    st.dates().map(lambda d: d.isoformat()),
    st.sampled_from(["", "2024-02-30", "0000-01-01", "9999-12-31", "31/12/2024", "2024-13-01", "2024-1-1",
                     "١٢/١٢/٢٠٢٤", "yesterday", "2024-01-01T00:00", "99999-01-01"]),
    hostile_text,
)
id_text = st.one_of(
    st.integers(-(10**20), 10**20).map(str),
    st.sampled_from(["", "0", "-1", "1.5", "²", "١", "abc", "1 OR 1=1", "9" * 40, "\x00", "1\x00"]),
)


def field_value(values: st.SearchStrategy) -> st.SearchStrategy:
    """A field sent once (most of the time), missing, or several times."""
    return st.one_of(values, values, values, st.none(), st.lists(values, min_size=2, max_size=3))


def post_data(draw, fields: dict[str, st.SearchStrategy], valid: dict | None = None) -> dict:
    """
    The test client's data: half the time a valid submission (``valid``) with up
    to three fields changed, left out or repeated; otherwise every field drawn.
    """
    if valid and draw(st.booleans()):
        data = dict(valid)
        for name in draw(st.lists(st.sampled_from(sorted(fields)), max_size=3, unique=True)):
            value = draw(field_value(fields[name]))
            if value is None:
                data.pop(name, None)
            else:
                data[name] = value
        return data
    data = {}
    for name, values in fields.items():
        value = draw(field_value(values))
        if value is not None:
            data[name] = value
    return data


# --- the fingerprint of what is stored -----------------------------------------------------------

APPS = ("clusters", "scoring", "awards")


def _files(root: Path) -> list[tuple[str, int]]:
    if not root.exists():
        return []
    return sorted((str(p.relative_to(root)), p.stat().st_size) for p in root.rglob("*") if p.is_file())


def fingerprint(media_root: Path) -> dict:
    """Every row of the project's apps (their history and many-to-many tables included) and every stored file."""
    tables = sorted({
        table
        for label in APPS
        for model in apps.get_app_config(label).get_models(include_auto_created=True)
        for table in [model._meta.db_table]
    })
    rows = {}
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 (model tables)
            rows[table] = sorted(map(repr, cursor.fetchall()))
    rows["files"] = _files(media_root)
    return rows


def changed(before: dict, after: dict) -> dict:
    return {k: (before[k], after[k]) for k in before if before[k] != after[k]}


# --- one example ---------------------------------------------------------------------------------


def feedback(response) -> tuple[list[str], list[tuple[int, str]]]:
    """The form errors on the page and the messages added by the request."""
    errors = []
    if response.context is not None:
        if "adminform" in response.context:  # the admin's change form, with its inlines' errors
            errors += [str(e) for es in response.context["adminform"].form.errors.values() for e in es]
            errors += [str(e) for e in response.context["errors"]]
        for key in ("form", "upload_errors"):
            try:
                value = response.context[key]
            except KeyError:
                continue
            if isinstance(value, BaseForm) and value.is_bound:
                errors += [str(e) for es in value.errors.values() for e in es]
            elif isinstance(value, list):
                errors += [str(e) for e in value]
    notes = [(m.level, str(m)) for m in get_messages(response.wsgi_request)]
    return errors, notes


def verdict(response) -> str:
    """ "accepted" or "refused", after checking the answer is not an error and says something."""
    assert response.status_code < 500
    if response.status_code in (400, 403, 404, 405):
        # A hidden or forbidden object, or a body Django itself cannot parse (a multipart
        # part header above its 1 KB limit): nothing to say beyond the status.
        return "refused"
    errors, notes = feedback(response)
    refusals = errors + [text for level, text in notes if level >= constants.WARNING]
    successes = [text for level, text in notes if level == constants.SUCCESS]
    assert refusals or successes, f"{response.status_code} without any message or form error"
    assert all(text.strip() for text in refusals + successes)
    if refusals or response.status_code >= 400:
        return "refused"
    assert response.status_code in (200, 302), response.status_code
    return "accepted"


class Example:
    """
    Runs one example as ``persona`` in a rolled-back savepoint; the stored files
    it added are removed afterwards. The login and the fingerprint of the
    starting state are made once, outside the savepoints, so they hold for
    every example.
    """

    def __init__(self, client, media_root: Path, users: dict):
        self.client, self.media_root, self.users = client, media_root, users
        self.persona = self.baseline = None

    def login(self, persona: str):
        """Log in as ``persona`` unless already (a login writes the user's last_login)."""
        if persona != self.persona:
            self.client.force_login(self.users[persona])
            self.persona, self.baseline = persona, None
        return self.client

    @contextmanager
    def run(self, name: str, persona: str):
        self.login(persona)
        self.name = name
        if self.baseline is None:
            self.baseline = fingerprint(self.media_root)
        self.client.cookies.pop("messages", None)
        try:
            with transaction.atomic():
                yield self
                transaction.set_rollback(True)
        finally:
            for path, _size in _files(self.media_root):
                if not any(path == kept for kept, _ in self.baseline["files"]):
                    (self.media_root / path).unlink()
        count(name)

    def check(self, response) -> str:
        """The verdict; a refusal must have left every row and file as it was."""
        outcome = verdict(response)
        ACCEPTED[self.name] = ACCEPTED.get(self.name, 0) + (outcome == "accepted")
        if outcome == "refused":
            assert changed(self.baseline, fingerprint(self.media_root)) == {}, "a refused input wrote something"
        return outcome


# --- uploads -------------------------------------------------------------------------------------


def multipart(fields: dict, files: list[tuple[str, str, bytes]]) -> tuple[bytes, str]:
    """
    A multipart body sending file names exactly as given (RFC 5987 ``filename*``),
    path separators, control characters and all: the test client's own encoder
    would take the base name and could not send a quote or a line break.
    """
    boundary = "----hostile-" + uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
                         + str(item).encode() + b"\r\n")
    for name, filename, content in files:
        header = (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                  f"filename*=UTF-8''{quote(filename, safe='')}\r\nContent-Type: application/octet-stream\r\n\r\n")
        parts.append(header.encode() + content + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


file_name = st.one_of(
    st.builds(lambda stem, ext: stem + ext, st.text(ANY_CHAR, max_size=30),
              st.sampled_from([".pdf", ".PDF", ".docx", ".xlsx", ".png", ".html", ".exe", ".svg", ".pdf.exe", ""])),
    st.sampled_from([
        "../../x.pdf", "..\\..\\x.pdf", "/etc/passwd.pdf", "C:\\Windows\\x.pdf", "a\x00b.pdf", "x.pdf\x00.exe",
        "bien ban\r\n.pdf", 'a"b.pdf', "a;b=c.pdf", ".pdf", "..", ".", "", "tệp minh chứng ✓.pdf",
        "\u202eexe.pdf", "%2e%2e%2fx.pdf", "&#0;.pdf", "a" * 200 + ".pdf", "名前.jpg", "x.php.png",
    ]),
)
file_content = st.one_of(
    st.binary(max_size=200),
    st.sampled_from([b"", b"%PDF-1.4 x", b"<html><script>alert(1)</script></html>", b"\x00" * 10]),
    st.just(b"%PDF" + b"x" * (1024 * 1024)),  # one byte above the 1 MB limit of the fixture
)
