"""The zone quotes judges validity in is checked when the service starts, not when a quote first expires."""
import pytest

from quoteflow.config import ConfigError
from services.quotes.config import Config


@pytest.mark.parametrize("value", ["Europe/Pariss", "UTC+1", "../etc/passwd"])
def test_a_zone_that_does_not_exist_stops_the_quotes_service_at_start_naming_it(monkeypatch, value):
    monkeypatch.setenv("QUOTES_TIMEZONE", value)
    with pytest.raises(ConfigError, match="QUOTES_TIMEZONE"):
        Config.from_env()
    monkeypatch.setenv("QUOTES_TIMEZONE", "America/Martinique")
    assert Config.from_env().timezone == "America/Martinique"
    monkeypatch.delenv("QUOTES_TIMEZONE")
    assert Config.from_env().timezone == "Europe/Paris"
