"""Price questions answered from the documents carry the warning a dose answer carries when the price
quarter on file does not cover the date of service (today when none is given)."""

from __future__ import annotations

import datetime as dt
import re

_PRICE = re.compile(r"\basp\b|\bprice|\bpayment\b|\bpay(?:s|ment)?\b|\bpaid\b|\breimburs|\bcost\b|\bpayment limit\b|\$|\bmedicare rate\b|\ballowable\b", re.I)


def is_price_question(text: str) -> bool:
    return bool(_PRICE.search(text))


def price_warnings(text: str, date_of_service: dt.date | str | None = None) -> list[str]:
    """The stale-price warning for a price question, as assistant.tools.prices words it; [] otherwise."""
    if not is_price_question(text):
        return []
    from assistant.settings import get_settings
    from assistant.tools.prices import price_on

    if isinstance(date_of_service, str):
        date_of_service = dt.date.fromisoformat(date_of_service)
    day = date_of_service or (dt.date.fromisoformat(get_settings().today) if get_settings().today else dt.date.today())
    lookup = price_on("J9354", day)
    return [lookup.warning] if lookup.warning else []
