"""Who is a person: real browsers (in-app ones too) count; scanners, previews, libraries and prefetches do not."""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from services.portal.domain.visitors import SIGNATURES, automated

PERSONS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.0.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0",
    "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 10; CUBOT X30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/460.0]",
    "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36 Line/14.5.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Teams/24.0 Chrome/120.0 Electron/28 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64) QuoteflowE2E/1.0",
]

MACHINES = [
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0 Safari/537.36", "crawler"),
    ("Microsoft Office Existence Discovery", "mail security"),
    ("Mozilla/4.0 (compatible; ms-office; MSOffice 16)", "mail security"),
    ("Mozilla/5.0 (compatible; Mimecast Link Inspector)", "mail security"),
    ("Mozilla/5.0 ProofpointURLDefense", "mail security"),
    ("Barracuda Sentinel (EE)", "mail security"),
    ("Mozilla/5.0 (compatible; BingPreview/1.0b)", "mail security"),
    ("Mozilla/5.0 (Windows NT 10.0) Trend Micro Web Reputation", "mail security"),
    ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; Google-Safety; +http://www.google.com/)", "mail security"),
    ("Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)", "mail security"),
    ("Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5", "link preview"),
    ("WhatsApp/2.23.20.0 A", "link preview"),
    ("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", "link preview"),
    ("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", "crawler"),
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "crawler"),
    ("Mozilla/5.0 (compatible; bingbot/2.0)", "crawler"),
    ("W3C-checklink/5.0 (LinkChecker)", "crawler"),
    ("Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)", "crawler"),
    ("python-requests/2.32.3", "http library"),
    ("Python-urllib/3.11", "http library"),
    ("curl/8.5.0", "http library"),
    ("Wget/1.21.4", "http library"),
    ("Go-http-client/1.1", "http library"),
    ("okhttp/4.12.0", "http library"),
    ("", "no User-Agent"),
    ("   ", "no User-Agent"),
]


@pytest.mark.parametrize("agent", PERSONS)
def test_browsers_are_persons(agent):
    assert automated(agent, {}) == ""


@pytest.mark.parametrize("agent, kind", MACHINES)
def test_machines_are_told_apart_with_a_reason(agent, kind):
    assert automated(agent, {}).startswith(kind)


@pytest.mark.parametrize("headers", [{"Purpose": "prefetch"}, {"Sec-Purpose": "prefetch"},
                                     {"Sec-Purpose": "prefetch;prerender"}, {"X-Purpose": "preview"},
                                     {"X-Moz": "prefetch"}, {"Purpose": "Prefetch"}])
def test_prefetch_and_preview_headers_never_count(headers):
    assert automated(PERSONS[0], headers)


def test_unrelated_headers_do_not_matter():
    assert automated(PERSONS[0], {"Sec-Purpose": "", "X-Moz": ""}) == ""


def test_every_signature_group_has_an_example_here():
    reasons = [automated(agent, {}) for agent, _ in MACHINES]
    for group in SIGNATURES:
        assert any(reason.startswith(group) for reason in reasons), group


@given(st.text(max_size=300), st.dictionaries(st.sampled_from(["Purpose", "Sec-Purpose", "X-Moz", "Accept"]),
                                               st.text(max_size=30)))
def test_automated_never_raises(agent, headers):
    assert isinstance(automated(agent, headers), str)
