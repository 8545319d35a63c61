"""French formatting of amounts, rates and dates (Babel), shared by pages and the consent text."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal

from quoteflow.decimals import decimal_or_none

LOCALE = "fr_FR"


def _decimal(value) -> Decimal | None:
    """A figure of the read model (wire-form text, quoteflow.decimals) or one computed here."""
    if isinstance(value, Decimal) or value is None:
        return value
    return decimal_or_none(str(value))


class FrenchFormat:
    def __init__(self, timezone: str = "Europe/Paris"):
        self.zone = ZoneInfo(timezone)

    def money(self, amount, currency: str = "EUR") -> str:
        value = _decimal(amount)
        return "" if value is None else format_currency(value, currency or "EUR", locale=LOCALE)

    def number(self, value) -> str:
        number = _decimal(value)
        return "" if number is None else format_decimal(number, locale=LOCALE)

    def rate(self, value) -> str:
        number = _decimal(value)
        return "" if number is None else f"{format_decimal(number, locale=LOCALE)}\u00a0%"

    def day(self, iso: str) -> str:
        try:
            return format_date(date.fromisoformat(iso[:10]), format="long", locale=LOCALE)
        except (TypeError, ValueError):
            return iso or ""

    def moment(self, when: datetime | None) -> str:
        if when is None:
            return ""
        return format_datetime(when, "d MMMM y 'à' HH:mm", tzinfo=self.zone, locale=LOCALE)

    def time(self, when: datetime | None) -> str:
        if when is None:
            return ""
        return format_datetime(when, "HH:mm", tzinfo=self.zone, locale=LOCALE)

    def size(self, size) -> tuple[str, str]:
        """(number, unit) of a file size in French: ("12,3", "kb") or ("1,2", "mb")."""
        try:
            count = max(0, int(size or 0))
        except (TypeError, ValueError):
            count = 0
        if count < 1024 * 1024:
            return format_decimal(max(count / 1024, 0.1) if count else 0, "#,##0.#", locale=LOCALE), "kb"
        return format_decimal(count / (1024 * 1024), "#,##0.#", locale=LOCALE), "mb"
