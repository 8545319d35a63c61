"""HTTP latency of the portal in Prometheus: by route (the url rule, never the path with the token) and status."""
from __future__ import annotations

from prometheus_client import REGISTRY, generate_latest

METRIC = "quoteflow_http_request_duration_seconds"


def served(route: str, method: str, status: str) -> float:
    """How many requests the histogram counted for these labels so far."""
    return REGISTRY.get_sample_value(f"{METRIC}_count", {"route": route, "method": method, "status": status}) or 0.0


def test_latency_is_counted_by_route_and_status_without_the_token(world):
    sent = world.send()
    pages, pdfs, unknown = (served("/d/<token>", "GET", "200"), served("/d/<token>/pdf", "GET", "200"),
                            served("unmatched", "GET", "404"))
    guessed = "Q" * 43
    assert world.get(f"/d/{sent['token']}").status_code == 200
    assert world.get(f"/d/{sent['token']}/pdf").status_code == 200
    assert world.get(f"/d/{guessed}").status_code == 404          # a known route, an unknown link
    assert world.get(f"/nowhere/{guessed}").status_code == 404    # no route at all

    assert served("/d/<token>", "GET", "200") == pages + 1
    assert served("/d/<token>/pdf", "GET", "200") == pdfs + 1
    assert served("/d/<token>", "GET", "404") >= 1
    assert served("unmatched", "GET", "404") == unknown + 1
    scraped = generate_latest(REGISTRY).decode()
    assert 'route="/d/<token>"' in scraped and f'{METRIC}_bucket{{' in scraped
    assert sent["token"] not in scraped and guessed not in scraped
