"""The public portal under abuse: bad, foreign and closed links, oversized input, wrong methods, CSRF,
link guessing past the rate limit and path traversal. No 500 anywhere, nothing of another quote shown."""
from __future__ import annotations

import secrets
from datetime import timedelta

import pytest

from tests.integration.portal.world import World
from tests.security.report import TALLY

SUBPATHS = ["", "/pdf", "/pdf-signe", "/logo", "/documents/" + "0" * 64]
TRAVERSALS = ["../../../../etc/passwd", "..%2f..%2f..%2fetc%2fpasswd", "%2e%2e/%2e%2e/etc/passwd", "..\\..\\win.ini",
              "/etc/passwd", "....//....//etc/passwd", "%00", "a" * 5000, "0" * 63 + "/", "..", "."]


@pytest.fixture
def make_world(tmp_path):
    built: list[World] = []

    def make(overrides: dict) -> World:
        built.append(World(tmp_path / f"w{len(built)}", overrides))
        return built[-1]

    yield make
    for w in built:
        w.close()


@pytest.fixture
def world(make_world):
    """A portal whose guessing limit is out of the way (tested on its own below)."""
    return make_world({"max_failed_lookups": 100_000})


def _check(world, surface: str, response, tried: str, allowed: set[int], foreign: str = "") -> None:
    body = response.get_data()
    TALLY.record(surface, str(response.status_code), tried)
    assert response.status_code != 500 and response.status_code in allowed, (tried, response.status_code)
    if foreign:
        assert foreign.encode() not in body, f"{tried}: another quote's number in the answer"


def test_random_truncated_foreign_and_closed_links_show_nothing_else(world):
    mine = world.send(number="DV-2026-11111")
    other = world.send(number="DV-2026-22222", recipient="other@example.fr")
    expired = world.send(number="DV-2026-33333", expires_in=timedelta(days=-1))
    old = world.send(number="DV-2026-44444")
    world.send(quote_id=old["quote_id"], number="DV-2026-44444", version=2)  # supersedes old's link
    tokens = {
        "random": secrets.token_urlsafe(32), "truncated": mine["token"][:-3], "one char changed":
        mine["token"][:-1] + ("A" if mine["token"][-1] != "A" else "B"), "upper-cased": mine["token"].upper(),
        "empty-ish": "-", "huge": "A" * 4000, "unicode": "ünïcödé🙂", "nul": "%00",
    }
    for label, token in tokens.items():
        for sub in SUBPATHS:
            _check(world, "portal: bad links", world.get(f"/d/{token}{sub}"), f"{label}{sub}", {404, 429},
                   foreign="DV-2026-22222")
    page = world.get(f"/d/{other['token']}").get_data(as_text=True)
    assert "DV-2026-22222" in page and "DV-2026-11111" not in page  # another recipient's link shows only its own
    for label, sent in (("expired", expired), ("superseded", old)):
        for sub in SUBPATHS:
            response = world.get(f"/d/{sent['token']}{sub}")
            # /pdf-signe of a quote that is not signed answers 503 "document unavailable" (deliberate, not 500).
            _check(world, "portal: closed links", response, f"{label}{sub}",
                   {200, 404, 410} | ({503} if sub == "/pdf-signe" else set()), foreign="DV-2026-11111")
            if sub == "/pdf":
                assert response.status_code in (404, 410), f"a {label} link still serves the PDF"


def test_oversized_bodies_and_headers_wrong_methods_and_csrf(world):
    sent = world.send(number="DV-2026-55555")
    base = f"/d/{sent['token']}"
    huge = {"signer_name": "Z" * (3 << 20), "consent": "on", "action": "sign"}
    _check(world, "portal: oversized", world.post(f"{base}/sign", huge), "3 MB form", {400, 403, 413})
    _check(world, "portal: oversized", world.get(base, ua="U" * 100_000), "100 kB User-Agent", {200, 400, 431})
    _check(world, "portal: oversized", world.get(base, headers={"X-Forwarded-For": "1.2.3.4, " * 5000}),
           "40 kB X-Forwarded-For", {200, 400, 431})
    _check(world, "portal: oversized", world.post(f"{base}/sign", {f"f{i}": "x" for i in range(500)}),
           "500 form fields", {400, 403, 413})
    for method in ("PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"):
        for path in (base, f"{base}/sign", f"{base}/refuser", f"{base}/pdf", f"{base}/vu"):
            response = world.client.open(path, method=method, environ_base={"REMOTE_ADDR": "203.0.113.7"})
            _check(world, "portal: wrong methods", response, f"{method} {path[-8:]}", {200, 204, 405})
            if method in ("PUT", "DELETE", "PATCH", "TRACE"):
                assert response.status_code == 405
    _check(world, "portal: wrong methods", world.client.get(f"{base}/sign"), "GET /sign", {405})
    for label, token in (("missing", None), ("wrong", "x" * 40), ("other link's", _csrf_of(world, world.send()))):
        form = {"signer_name": "Zoé", "consent": "on", "action": "sign"}
        if token is not None:
            form["csrf_token"] = token
        for path in ("sign", "refuser", "vu"):
            response = world.post(f"{base}/{path}", {**form, "reason": "non", "vue": "1"})
            _check(world, "portal: CSRF", response, f"{label} CSRF on /{path}", {400, 403})
    assert not world.servicer.calls["Sign"] and not world.servicer.calls["Decline"]
    assert not world.outbox("portal.quote_viewed")


def _csrf_of(world, sent: dict) -> str:
    return World.beacon_of(world.page(sent["token"]))["csrf_token"]


def test_link_guessing_is_cut_off_by_the_rate_limit(make_world):
    world = make_world({"max_failed_lookups": 5, "failed_lookup_window": 300.0})
    sent = world.send()
    codes = [world.get(f"/d/{secrets.token_urlsafe(32)}").status_code for _ in range(12)]
    for code in codes:
        TALLY.record("portal: link guessing", str(code), "random token")
    assert codes[:5] == [404] * 5 and set(codes[5:]) == {429}
    limited = world.get(f"/d/{sent['token']}")
    TALLY.record("portal: link guessing", str(limited.status_code), "valid link after the limit")
    assert limited.status_code == 429 and "Retry-After" in limited.headers
    print(f"guesses: {codes}; a valid link from the same address afterwards: {limited.status_code}")


def test_path_traversal_on_downloads_serves_no_file(world):
    sent = world.send()
    for attempt in TRAVERSALS:
        for path in (f"/d/{sent['token']}/documents/{attempt}", f"/d/{attempt}/pdf", f"/theme/{attempt}.css"):
            response = world.get(path)
            _check(world, "portal: path traversal", response, path[:80], {400, 404, 308})
            assert b"root:" not in response.get_data() and b"[boot loader]" not in response.get_data()


def test_hostile_form_posts_never_break_the_portal(tmp_path):
    """Generated sign / decline / code posts with a valid CSRF token: a clear page every time, never a 500,
    and whatever the client typed comes back escaped."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from tests.security.hostile import text

    world = World(tmp_path, {"max_failed_lookups": 100_000})
    try:
        data_urls = st.one_of(text(), st.sampled_from(["data:image/png;base64,", "data:image/png;base64,!!!!",
                                                       "data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=",
                                                       "data:image/png;base64," + "A" * 400_000]))

        @settings(max_examples=150, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(path=st.sampled_from(["sign", "refuser"]), name=text(), reason=text(), code=text(),
               png=data_urls, consent=st.sampled_from(["on", "", "off", "1", "oui", "<script>"]),
               action=st.sampled_from(["sign", "code", "", "delete", "{{7*7}}"]))
        def post(path, name, reason, code, png, consent, action):
            sent = world.send(signature_otp="email")  # a fresh link: an earlier signature does not close this one
            base = f"/d/{sent['token']}"
            form = {"csrf_token": _csrf_of(world, sent), "signer_name": name, "name": name, "reason": reason, "otp_code": code,
                    "signature_png": png, "consent": consent, "action": action}
            response = world.post(f"{base}/{path}", form)
            _check(world, "portal: hostile forms", response, f"/{path} name={name[:40]!r} reason={reason[:40]!r}",
                   {200, 303, 400, 409, 410, 413, 422, 429, 503})
            body = response.get_data(as_text=True)
            assert "<script>alert(1)</script>" not in body and "<img src=x onerror" not in body

        post()
    finally:
        world.close()
