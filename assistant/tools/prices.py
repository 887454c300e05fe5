"""J9354 price table: Medicare payment limits (ASP + 6%) by price quarter, and the price for a date of service.

The price table is the shipped quarter (assistant/data/prices.yaml) plus quarters imported from
CMS ASP pricing files into the data folder. Claim lines and payment amounts are built from it in
assistant.tools.billing.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field, ValidationError

from assistant.corpus import get_corpus
from assistant.errors import DataError, InputError
from assistant.models import SourceQuote
from assistant.settings import get_settings

SHIPPED_FILE = Path(__file__).resolve().parent.parent / "data" / "prices.yaml"

_MONTHS = "january february march april may june july august september october november december".split()
_MONTH = r"(january|february|march|april|may|june|july|august|september|october|november|december)"
_RANGE = re.compile(
    _MONTH + r"\s+(\d{1,2}),?\s+(\d{4})\s*(?:through|thru|to|-|–|—)\s*" + _MONTH + r"\s+(\d{1,2}),?\s+(\d{4})",
    re.IGNORECASE,
)
_MONTH_FILE = re.compile(r"\b(january|april|july|october)\s+(\d{4})\s+asp\b", re.IGNORECASE)
_QUARTER = re.compile(r"^\s*(?:(\d{4})\s*-?\s*q([1-4])|q([1-4])\s*-?\s*(\d{4}))\s*$", re.IGNORECASE)
_QUARTER_IN_TEXT = re.compile(r"\b(?:(\d{4})\s*q([1-4])|q([1-4])\s*(\d{4}))\b", re.IGNORECASE)
_DOSAGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*mg\s*$", re.IGNORECASE)

HEADER_COLUMNS = {
    "hcpcs": "hcpcs code",
    "description": "short description",
    "dosage": "hcpcs code dosage",
    "limit": "payment limit",
}


class PriceRow(BaseModel):
    """One HCPCS payment limit and where it comes from."""

    hcpcs: str
    description: str = ""
    dosage: str = Field(description="the billing unit, as CMS writes it, e.g. '1 MG'")
    payment_limit: Decimal = Field(description="dollars per billing unit (ASP + 6%)")
    source: SourceQuote | None = Field(default=None, description="shipped rows: the corpus passage")
    source_file: str | None = Field(default=None, description="imported rows: the CMS file name")
    source_row: int | None = Field(default=None, description="imported rows: line number in that file")

    def mg_per_unit(self) -> Decimal:
        """Milligrams in one billing unit; DataError if the dosage is not in mg."""
        match = _DOSAGE.match(self.dosage)
        if not match or Decimal(match.group(1)) <= 0:
            raise DataError(f"{self.hcpcs}: billing unit {self.dosage!r} is not a milligram amount")
        return Decimal(match.group(1))


class PriceQuarter(BaseModel):
    """The payment limits in force for one calendar quarter."""

    quarter: str = Field(description="e.g. '2026Q2'")
    effective_start: dt.date
    effective_end: dt.date
    origin: Literal["shipped", "imported"]
    period_source: SourceQuote | None = None
    source_file: str | None = None
    rows: dict[str, PriceRow]

    @property
    def label(self) -> str:
        return f"Q{self.quarter[-1]} {self.quarter[:4]}"

    def covers(self, day: dt.date) -> bool:
        return self.effective_start <= day <= self.effective_end


class PriceLookup(BaseModel):
    """The price used for a date of service, and whether its quarter covers that date."""

    quarter: str
    quarter_label: str
    effective_start: dt.date
    effective_end: dt.date
    row: PriceRow
    covers_date: bool
    warning: str | None = None


def parse_quarter(text: str) -> tuple[str, dt.date, dt.date]:
    """'2026Q3' (or 'Q3 2026') -> ('2026Q3', first day, last day); InputError otherwise."""
    match = _QUARTER.match(text or "")
    if not match:
        raise InputError(f"Quarter {text!r} is not understood; write it like 2026Q3.")
    year = int(match.group(1) or match.group(4))
    q = int(match.group(2) or match.group(3))
    return _quarter_bounds(year, q)


FIRST_ASP_YEAR = 2005  # Medicare Part B drugs have been paid at ASP + 6% since January 2005
DEFAULT_MAX_CHANGE = 3.0  # a payment limit more than 3x or under 1/3 of the previous quarter's is a slip, not a price
MAX_PAYMENT_LIMIT = Decimal("1000000")  # dollars per billing unit: above any Part B drug's


def _today() -> dt.date:
    override = get_settings().today
    try:
        return dt.date.fromisoformat(override) if override else dt.date.today()
    except ValueError:
        raise DataError(f"ASSISTANT_TODAY={override!r} is not a YYYY-MM-DD date") from None


def _quarter_bounds(year: int, q: int) -> tuple[str, dt.date, dt.date]:
    last = _today().year + 1
    if not FIRST_ASP_YEAR <= year <= last:
        raise InputError(f"{year}Q{q} is not a real price quarter: CMS ASP quarters run from {FIRST_ASP_YEAR} to {last}.")
    start = dt.date(year, 3 * q - 2, 1)
    end = dt.date(year + 1, 1, 1) if q == 4 else dt.date(year, 3 * q + 1, 1)
    return f"{year}Q{q}", start, end - dt.timedelta(days=1)


def _quarter_from_titles(titles: list[str]) -> tuple[str, dt.date, dt.date] | None:
    text = " ".join(titles)
    if match := _RANGE.search(text):
        m1, d1, y1, m2, d2, y2 = match.groups()
        start = dt.date(int(y1), _MONTHS.index(m1.lower()) + 1, int(d1))
        end = dt.date(int(y2), _MONTHS.index(m2.lower()) + 1, int(d2))
        found = _quarter_bounds(start.year, (start.month - 1) // 3 + 1)
        if (found[1], found[2]) != (start, end):
            raise InputError(
                f"The file's title gives {start} to {end}, which is not a calendar quarter; "
                "give the quarter with --quarter, e.g. --quarter 2026Q3."
            )
        return found
    if match := _MONTH_FILE.search(text):
        month, year = match.groups()
        return _quarter_bounds(int(year), (_MONTHS.index(month.lower())) // 3 + 1)
    if match := _QUARTER_IN_TEXT.search(text):
        return _quarter_bounds(int(match.group(1) or match.group(4)), int(match.group(2) or match.group(3)))
    return None


def _decode(raw: bytes, name: str) -> str:
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InputError(f"{name}: cannot read the text encoding")  # pragma: no cover - latin-1 decodes all


def _norm(cell: str) -> str:
    return " ".join(cell.replace("\ufeff", "").split()).lower()


def read_asp_file(path: Path, quarter: str | None = None, *, max_change: float | None = None) -> PriceQuarter:
    """Parse and check a CMS ASP pricing CSV: title rows, a header row found by name, then one row per code.

    The file is refused whole (InputError naming the row and the reason) if a payment limit is zero,
    negative, not finite, above MAX_PAYMENT_LIMIT or more than `max_change` times away from the
    nearest other quarter's limit for that code (default DEFAULT_MAX_CHANGE), if a code appears twice,
    if J9354's dosage is not "1 MG", or if the quarter is not a real one."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"Price file {path} not found; give the path to a CMS ASP pricing CSV.")
    rows = list(csv.reader(io.StringIO(_decode(path.read_bytes(), path.name), newline="")))
    header_at = next(
        (i for i, r in enumerate(rows) if {"hcpcs code", "payment limit"} <= {_norm(c) for c in r}), None
    )
    if header_at is None:
        raise InputError(
            f"{path.name}: no header row with 'HCPCS Code' and 'Payment Limit'; is this a CMS ASP pricing file?"
        )
    header = [_norm(c) for c in rows[header_at]]
    cols = {key: header.index(name) for key, name in HEADER_COLUMNS.items() if name in header}
    if "dosage" not in cols:
        raise InputError(f"{path.name}: the header row has no 'HCPCS Code Dosage' column.")
    titles = [c.strip() for r in rows[:header_at] for c in r if c.strip()]

    from_title = _quarter_from_titles(titles)
    if quarter:
        chosen = parse_quarter(quarter)
        if from_title and from_title[0] != chosen[0]:
            raise InputError(
                f"{path.name}: the title rows say {from_title[0]} but --quarter says {chosen[0]}; check the file."
            )
    elif from_title:
        chosen = from_title
    else:
        raise InputError(f"{path.name}: no quarter found in the title rows; give it with --quarter, e.g. 2026Q3.")

    prices: dict[str, PriceRow] = {}
    problems: list[str] = []
    for line_no, row in enumerate(rows[header_at + 1 :], start=header_at + 2):
        cell = lambda key: row[cols[key]].strip() if key in cols and cols[key] < len(row) else ""  # noqa: E731
        code = cell("hcpcs").upper()
        if not code:
            continue
        if code in prices:
            problems.append(f"row {line_no}: {code} appears twice (also row {prices[code].source_row})")
            continue
        raw_limit = cell("limit").replace("$", "").replace(",", "").strip()
        if raw_limit.upper() in ("", "N/A", "NA", "-"):
            continue  # CMS leaves some limits blank or "N/A"; such a code has no price this quarter
        try:
            limit = Decimal(raw_limit)
        except InvalidOperation:
            problems.append(f"row {line_no}: {code} payment limit {cell('limit')!r} is not a number")
            continue
        if not limit.is_finite() or limit <= 0:
            problems.append(f"row {line_no}: {code} payment limit {cell('limit')!r} is not a positive amount")
            continue
        if limit > MAX_PAYMENT_LIMIT:
            problems.append(f"row {line_no}: {code} payment limit ${limit} is not a plausible price per unit")
            continue
        if code == "J9354" and _norm(cell("dosage")) != "1 mg":
            problems.append(f"row {line_no}: J9354 dosage is {cell('dosage')!r}; Kadcyla is billed per 1 MG")
            continue
        prices[code] = PriceRow(
            hcpcs=code,
            description=cell("description"),
            dosage=cell("dosage"),
            payment_limit=limit,
            source_file=path.name,
            source_row=line_no,
        )
    name, start, end = chosen
    problems += _implausible_changes(prices, name, DEFAULT_MAX_CHANGE if max_change is None else max_change)
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise InputError(f"{path.name} refused, nothing loaded: " + "; ".join(problems[:3]) + more + ".")
    if not prices:
        raise InputError(f"{path.name}: no priced rows under the header; is this a CMS ASP pricing file?")
    return PriceQuarter(
        quarter=name, effective_start=start, effective_end=end, origin="imported", source_file=path.name, rows=prices
    )


def _implausible_changes(prices: dict[str, PriceRow], quarter: str, factor: float) -> list[str]:
    """Rows whose limit is more than `factor` times away from the nearest other quarter's for the same code."""
    if factor < 1:
        raise InputError(f"The allowed price change factor must be at least 1, not {factor}.")
    others = [q for q in all_quarters() if q.quarter != quarter]
    earlier = [q for q in others if q.quarter < quarter][::-1]
    later = [q for q in others if q.quarter > quarter]
    out = []
    for code, row in prices.items():
        ref = next((q for q in earlier + later if code in q.rows), None)
        if ref is None:
            continue
        before = ref.rows[code].payment_limit
        ratio = row.payment_limit / before
        if not Decimal(1) / Decimal(str(factor)) <= ratio <= Decimal(str(factor)):
            out.append(
                f"row {row.source_row}: {code} payment limit ${row.payment_limit} is {float(ratio):.3g} times {ref.quarter}'s "
                f"${before} (more than {factor:g}x away; pass a larger factor if the price really changed so much)"
            )
    return out


def _store() -> Path:
    return get_settings().data_dir / "prices"


def import_asp_file(path: Path, quarter: str | None = None, *, max_change: float | None = None) -> PriceQuarter:
    """Parse and check a CMS ASP pricing CSV (see read_asp_file) and store its quarter under the data
    folder (replacing it); a file that fails a check stores nothing."""
    if max_change is None:  # a setting, once settings.py has one
        max_change = getattr(get_settings(), "price_max_change", None)
    parsed = read_asp_file(path, quarter, max_change=max_change)
    from assistant.private_files import write_private

    write_private(_store() / f"{parsed.quarter}.json", parsed.model_dump_json(indent=1))
    return parsed


def imported_quarters() -> list[PriceQuarter]:
    """Quarters imported with `prices load`, oldest first; a damaged file is left out (see damaged_quarters)."""
    return _read_store()[0]


def damaged_quarters() -> dict[str, str]:
    """Stored quarter name -> why its file cannot be read. A damaged quarter affects only its own dates."""
    return _read_store()[1]


def _read_store() -> tuple[list[PriceQuarter], dict[str, str]]:
    folder = _store()
    out, damaged = [], {}
    for file in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            q = PriceQuarter.model_validate_json(file.read_text(encoding="utf-8"))
            if q.quarter != file.stem or any(not r.payment_limit.is_finite() or r.payment_limit <= 0 for r in q.rows.values()):
                raise ValueError("its contents do not match a checked import")
            out.append(q)
        except (ValidationError, ValueError, OSError) as exc:
            damaged[file.stem] = f"imported price file {file} is damaged; load that quarter's CMS file again ({str(exc).splitlines()[0]})"
    return out, damaged


@lru_cache(maxsize=4)
def _shipped(corpus_dir: str) -> tuple[PriceQuarter, ...]:
    corpus = get_corpus()
    try:
        raw = yaml.safe_load(SHIPPED_FILE.read_text(encoding="utf-8"))
        out = []
        for q in raw["quarters"]:
            rows = {}
            for r in q["rows"]:
                source = corpus.find(r["doc_id"], r["quote"], r.get("section", ""))
                if str(r["payment_limit"]) not in source.quote:
                    raise DataError(f"{SHIPPED_FILE}: price {r['payment_limit']} is not written in its quote")
                rows[r["hcpcs"]] = PriceRow(
                    hcpcs=r["hcpcs"],
                    description=r.get("description", ""),
                    dosage=r["dosage"],
                    payment_limit=Decimal(str(r["payment_limit"])),
                    source=source,
                )
            name, start, end = parse_quarter(q["quarter"])
            if (q["effective_start"], q["effective_end"]) != (start, end):
                raise DataError(f"{SHIPPED_FILE}: {name} dates are not that calendar quarter")
            period = q["period"]
            out.append(
                PriceQuarter(
                    quarter=name,
                    effective_start=start,
                    effective_end=end,
                    origin="shipped",
                    period_source=corpus.find(period["doc_id"], period["quote"], period.get("section", "")),
                    rows=rows,
                )
            )
    except (KeyError, TypeError, ValidationError, InputError, yaml.YAMLError) as exc:
        raise DataError(f"{SHIPPED_FILE} is malformed: {exc}") from None
    return tuple(out)


def shipped_quarters() -> list[PriceQuarter]:
    """The quarters in assistant/data/prices.yaml, every quote checked against the corpus."""
    return list(_shipped(str(get_settings().corpus_dir)))


def all_quarters() -> list[PriceQuarter]:
    """Shipped and imported quarters, oldest first; an imported quarter replaces a shipped one."""
    by_name = {q.quarter: q for q in shipped_quarters()}
    by_name.update({q.quarter: q for q in imported_quarters()})
    return [by_name[k] for k in sorted(by_name)]


def price_on(hcpcs: str, day: dt.date) -> PriceLookup:
    """The price for a code on a date of service; a warning says so when no quarter covers the date."""
    wanted_quarter = f"{day.year}Q{(day.month - 1) // 3 + 1}"
    if wanted_quarter in (damaged := damaged_quarters()):
        raise DataError(damaged[wanted_quarter])
    quarters = [q for q in all_quarters() if hcpcs in q.rows]
    if not quarters:
        raise DataError(f"no Medicare price on file for {hcpcs}")
    covering = [q for q in quarters if q.covers(day)]
    warning = None
    if covering:
        chosen = covering[-1]
    else:
        earlier = [q for q in quarters if q.effective_end < day]
        chosen = earlier[-1] if earlier else quarters[0]
        which = "newest" if earlier else "earliest"
        wanted = wanted_quarter
        warning = (
            f"Stale price: the date of service {day} is outside {chosen.label} "
            f"({chosen.effective_start} to {chosen.effective_end}), the {which} {hcpcs} price on file, "
            f"so the Medicare payment shown may be wrong. Load the CMS ASP pricing file for {wanted} "
            "with `assistant prices load FILE`."
        )
    return PriceLookup(
        quarter=chosen.quarter,
        quarter_label=chosen.label,
        effective_start=chosen.effective_start,
        effective_end=chosen.effective_end,
        row=chosen.rows[hcpcs],
        covers_date=not warning,
        warning=warning,
    )
