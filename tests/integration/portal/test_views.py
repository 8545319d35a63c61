"""Views that are real: only a page that confirms itself, or a client acting from it, records a view;
HEAD, scanners, previews and prefetches never do (services/portal/domain/visitors.py)."""
from __future__ import annotations

import re

from quoteflow.errors import FailedPrecondition
from services.portal.adapters.signature import GrpcSigner

from tests.integration.portal.world import CLIENT_IP, UA

SCANNERS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0 Safari/537.36",
    "Microsoft Office Existence Discovery",
    "Mozilla/4.0 (compatible; ms-office; MSOffice 16)",
    "Mozilla/5.0 (compatible; Mimecast Link Inspector)",
    "Proofpoint URL Defense",
    "Barracuda Sentinel (EE)",
    "Mozilla/5.0 (compatible; BingPreview/1.0b)",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "WhatsApp/2.23.20.0 A",
    "facebookexternalhit/1.1",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "W3C-checklink/5.0 (LinkChecker)",
    "python-requests/2.32.3",
    "curl/8.5.0",
    "",
]


def views(world) -> list[dict]:
    return world.outbox("portal.quote_viewed")


def test_neither_get_nor_head_counts_a_view(world):
    sent = world.send()
    for _ in range(3):
        assert world.get(f"/d/{sent['token']}").status_code == 200
    assert world.client.head(f"/d/{sent['token']}").status_code == 200
    assert views(world) == []


def test_the_page_confirms_the_view_once_with_who_and_when(world):
    sent = world.send()
    html = world.page(sent["token"])
    response = world.confirm_view(html)
    assert response.status_code == 204 and response.headers["X-Quoteflow-View"] == "counted"
    again = world.confirm_view(html)  # the same page view, confirmed twice (e.g. two tabs restored)
    assert again.status_code == 204 and again.headers["X-Quoteflow-View"] == "ignored"
    [event] = views(world)
    assert event["tenantid"] == world.tenant
    assert event["subject"] == f"quote/{sent['quote_id']}"
    assert event["source"] == "quoteflow/portal"
    data = event["data"]
    assert data["quote_id"] == sent["quote_id"] and data["number"] == sent["number"] and data["version"] == 1
    assert data["recipient_email"] == "zoe@example.fr"
    assert data["ip"] == CLIENT_IP and data["user_agent"] == UA
    assert data["at"].endswith("Z")
    assert data["assignee"]["email"] == "helene.martin@dupre.example"
    assert data["assignee"]["phone"] == "+33600000001"
    # Reloading the page is another consultation, as the manual counts them.
    assert world.confirm_view(world.page(sent["token"])).headers["X-Quoteflow-View"] == "counted"
    assert len(views(world)) == 2


def test_scanners_previews_and_libraries_never_count(world):
    sent = world.send()
    for agent in SCANNERS:
        html = world.get(f"/d/{sent['token']}", ua=agent).get_data(as_text=True)
        assert world.confirm_view(html, ua=agent).headers["X-Quoteflow-View"] == "ignored", agent
        pdf = world.get(re.search(r'href="([^"]+/pdf\?vue=[^"]+)"', html).group(1), ua=agent)
        assert pdf.status_code == 200 and pdf.get_data().startswith(b"%PDF"), agent  # served, not counted
    assert world.outbox() == []
    assert world.servicer.calls["RecordOpened"] == []


def test_prefetches_never_count(world):
    sent = world.send()
    for header in ({"Purpose": "prefetch"}, {"Sec-Purpose": "prefetch;prerender"}, {"X-Purpose": "preview"},
                   {"X-Moz": "prefetch"}):
        html = world.page(sent["token"])
        assert world.confirm_view(html, headers=header).headers["X-Quoteflow-View"] == "ignored", header
        world.get(f"/d/{sent['token']}/pdf", headers=header)
    assert world.outbox() == []


def test_a_forged_view_id_or_another_link_s_does_not_count(world):
    first, second = world.send(), world.send()
    html_first, html_second = world.page(first["token"]), world.page(second["token"])
    beacon = world.beacon_of(html_first)
    forged = world.post(beacon["url"], {"csrf_token": beacon["csrf_token"], "vue": "A" * 22 + "." + "0" * 32})
    assert forged.headers["X-Quoteflow-View"] == "ignored"
    borrowed = world.post(beacon["url"], {"csrf_token": beacon["csrf_token"],
                                          "vue": world.beacon_of(html_second)["vue"]})
    assert borrowed.headers["X-Quoteflow-View"] == "ignored"
    assert views(world) == []


def test_without_javascript_a_download_from_the_page_confirms_the_view_once(world):
    sent = world.send()
    html = world.page(sent["token"])
    href = re.search(r'href="([^"]+/pdf\?vue=[^"]+)"', html).group(1)
    assert world.get(href).status_code == 200
    assert len(views(world)) == 1 and len(world.outbox("portal.quote_downloaded")) == 1
    assert world.confirm_view(html).headers["X-Quoteflow-View"] == "ignored"  # the beacon, late: same view
    assert world.get(href).status_code == 200  # a second download of the same page view
    assert len(views(world)) == 1 and len(world.outbox("portal.quote_downloaded")) == 2
    assert [e["type"] for e in world.outbox()][:2] == ["portal.quote_viewed", "portal.quote_downloaded"]


def test_a_download_without_a_page_view_is_a_download_only(world):
    sent = world.send()
    assert world.get(f"/d/{sent['token']}/pdf").status_code == 200
    assert views(world) == [] and len(world.outbox("portal.quote_downloaded")) == 1


def test_a_confirmed_view_tells_the_signature_service_opened(world):
    sent = world.send(signature_requested=True)
    world.confirm_view(world.page(sent["token"]))
    [opened] = world.servicer.calls["RecordOpened"]
    assert opened.tenant_id == world.tenant and opened.quote_id == sent["quote_id"] and opened.version == 1
    assert opened.ip == CLIENT_IP and opened.user_agent == UA
    unsigned = world.send(signature_requested=False)
    world.confirm_view(world.page(unsigned["token"]))
    assert len(world.servicer.calls["RecordOpened"]) == 1  # nothing to sign: no evidence to keep
    assert len(views(world)) == 2


def test_record_opened_failing_or_unreachable_never_breaks_the_page(make_world):
    world = make_world()
    world.servicer.refuse["RecordOpened"] = FailedPrecondition("no open request")
    sent = world.send()
    html = world.page(sent["token"])
    assert world.confirm_view(html).status_code == 204
    assert len(views(world)) == 1
    down = make_world(signer=GrpcSigner("127.0.0.1:1", "k", timeout=1, opened_timeout=1))
    sent = down.send()
    assert down.confirm_view(down.page(sent["token"])).status_code == 204
    assert len(views(down)) == 1


def test_signing_from_the_page_confirms_the_view(world):
    sent = world.send()
    html = world.page(sent["token"])
    form = re.search(r'<form method="post" action="[^"]+/sign".*?</form>', html, re.S).group(0)
    vue = re.search(r'name="vue" value="([^"]+)"', form).group(1)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    response = world.post(f"/d/{sent['token']}/sign", {"csrf_token": csrf, "vue": vue, "consent": "on",
                                                       "signer_name": "Zoé Bérénice"})
    assert response.status_code == 303
    assert len(views(world)) == 1
    assert [c.__class__.__name__ for c in world.servicer.calls["RecordOpened"]] == ["RecordOpenedRequest"]
    assert world.confirm_view(html).headers["X-Quoteflow-View"] == "ignored"


def test_a_closed_link_counts_nothing(world):
    first = world.send(version=1)
    html = world.page(first["token"])
    world.send(quote_id=first["quote_id"], number=first["number"], version=2)
    assert world.confirm_view(html).headers["X-Quoteflow-View"] == "ignored"
    assert world.get(f"/d/{first['token']}/pdf").status_code == 410
    assert world.outbox() == []


def _sign_form(html: str) -> dict:
    form = re.search(r'<form method="post" action="[^"]+/sign".*?</form>', html, re.S).group(0)
    return dict(re.findall(r'<input type="hidden"[^>]*name="(vue|csrf_token)" value="([^"]*)"', form))


def test_a_form_sent_back_with_a_problem_keeps_the_visit_s_view(world):
    """One visit: the page, a first attempt without the consent box (the form comes back), then the signature.
    The page that comes back carries the same view id, so the visit is one consultation, not two."""
    sent = world.send()
    html = world.page(sent["token"])
    first = _sign_form(html)
    again = world.post(f"/d/{sent['token']}/sign", {**first, "signer_name": "Zoé Bérénice"})
    assert again.status_code == 400
    back = again.get_data(as_text=True)
    assert _sign_form(back)["vue"] == first["vue"] == world.beacon_of(back)["vue"]
    assert world.confirm_view(back).headers["X-Quoteflow-View"] == "ignored"  # portal.js, on the page sent back
    signed = world.post(f"/d/{sent['token']}/sign", {**_sign_form(back), "consent": "on",
                                                      "signer_name": "Zoé Bérénice"})
    assert signed.status_code == 303
    assert len(views(world)) == 1


def test_asking_for_a_one_time_code_then_signing_is_one_view(world):
    sent = world.send(signature_otp="sms")
    first = _sign_form(world.page(sent["token"]))
    asked = world.post(f"/d/{sent['token']}/sign", {**first, "signer_name": "Zoé Bérénice", "action": "code"})
    assert asked.status_code == 200
    back = asked.get_data(as_text=True)
    assert _sign_form(back)["vue"] == first["vue"]
    world.confirm_view(back)
    missing = world.post(f"/d/{sent['token']}/sign", {**_sign_form(back), "consent": "on",
                                                       "signer_name": "Zoé Bérénice"})  # no code typed
    assert missing.status_code == 400 and _sign_form(missing.get_data(as_text=True))["vue"] == first["vue"]
    signed = world.post(f"/d/{sent['token']}/sign", {**_sign_form(back), "consent": "on", "otp_code": "482913",
                                                      "signer_name": "Zoé Bérénice"})
    assert signed.status_code == 303
    assert len(views(world)) == 1


def test_a_decline_sent_back_keeps_the_view_and_a_forged_one_gets_a_fresh_id(world):
    sent = world.send()
    html = world.page(sent["token"])
    first = _sign_form(html)
    back = world.post(f"/d/{sent['token']}/refuser", {**first, "reason": " "})
    assert back.status_code == 400
    assert world.beacon_of(back.get_data(as_text=True))["vue"] == first["vue"]
    # A view id that is not this link's is never echoed back: the page gets a new one of its own.
    other = _sign_form(world.page(world.send()["token"]))["vue"]
    forged = world.post(f"/d/{sent['token']}/refuser", {"csrf_token": first["csrf_token"], "vue": other,
                                                         "reason": " "})
    fresh = world.beacon_of(forged.get_data(as_text=True))["vue"]
    assert fresh not in (other, first["vue"])
    assert len(views(world)) == 1  # the first decline's view; the other link's id counted nothing here
    assert world.post(f"/d/{sent['token']}/vu", {"csrf_token": first["csrf_token"], "vue": fresh}
                      ).headers["X-Quoteflow-View"] == "counted"  # a view id of this link's, new


def test_the_thanks_after_an_answer_counts_nothing_more(world):
    """The page the client lands on after signing or declining belongs to the visit whose answer confirmed the
    view: it carries no view id, so portal.js sends no beacon. A quote still open (a ?signe=1 typed by hand)
    keeps its view id."""
    for route, fields, landing in (("sign", {"consent": "on", "signer_name": "Zoé Bérénice"}, "signe=1"),
                                   ("refuser", {"reason": "Trop cher."}, "refus=1")):
        sent = world.send()
        html = world.page(sent["token"])
        opened_by_hand = world.get(f"/d/{sent['token']}?{landing}").get_data(as_text=True)
        assert world.beacon_of(opened_by_hand)["vue"]  # still open: a view id as on any page
        answered = world.post(f"/d/{sent['token']}/{route}", {**_sign_form(html), **fields})
        assert answered.status_code == 303 and answered.headers["Location"].endswith(landing)
        thanks = world.get(answered.headers["Location"]).get_data(as_text=True)
        assert 'data-view-id=""' in thanks
        assert world.post(f"/d/{sent['token']}/vu", {"csrf_token": _sign_form(html)["csrf_token"], "vue": ""}
                          ).headers["X-Quoteflow-View"] == "ignored"
        assert len([v for v in views(world) if v["data"]["quote_id"] == sent["quote_id"]]) == 1
        later = world.page(sent["token"])  # coming back later is another consultation
        assert world.confirm_view(later).headers["X-Quoteflow-View"] == "counted"
