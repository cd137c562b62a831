"""The filter state shared by every page, and its round trip through the URL.

The whole state lives in the query string, so a copied link opens the same
view. A value that does not parse falls back to its default and says so in
a note; it never raises.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from contract import AGE_GROUPS, COUNTRIES, EARLIEST_EVENT_DATE, FEATURES, GENDERS, LANGUAGES, korea_today
from dashboard.settings import DEFAULT_LANGUAGE

PRESETS = ("last_7", "last_30", "last_90", "this_month", "last_month", "this_year", "custom")
COMPARISONS = ("none", "previous", "last_year")
GRAINS = ("day", "week", "month")
COUNTRY_MODES = ("include", "exclude")
# a weekday-aligned year: the same weekdays 52 weeks earlier
YEAR_AGO = timedelta(weeks=52)
MAX_LIST = 300  # more values than any dimension has


@dataclass(frozen=True)
class Filters:
    preset: str = "last_90"
    start: date | None = None  # only for the custom preset
    end: date | None = None
    countries: tuple[str, ...] = ()
    country_mode: str = "include"
    genders: tuple[str, ...] = ()  # empty: all
    age_groups: tuple[str, ...] = ()
    features: tuple[str, ...] = ()
    comparison: str = "previous"
    grain: str = "week"
    lang: str = "ko"

    @property
    def filtered(self) -> bool:
        """Some dimension filter narrows the counts (an export's file name says so)."""
        return bool(self.features or self.countries or self.genders or self.age_groups)

    def period(self, today: date | None = None) -> tuple[date, date]:
        """The first and last day (both included) of the selected period."""
        today = today or korea_today()
        if self.preset == "custom" and self.start and self.end:
            return self.start, self.end
        days = {"last_7": 7, "last_30": 30, "last_90": 90}
        if self.preset in days:
            return today - timedelta(days=days[self.preset] - 1), today
        if self.preset == "this_month":
            return today.replace(day=1), today
        if self.preset == "last_month":
            last = today.replace(day=1) - timedelta(days=1)
            return last.replace(day=1), last
        return today.replace(month=1, day=1), today  # this_year

    def comparison_period(self, today: date | None = None) -> tuple[date, date] | None:
        start, end = self.period(today)
        if self.comparison == "previous":
            length = end - start + timedelta(days=1)
            return start - length, end - length
        if self.comparison == "last_year":
            return start - YEAR_AGO, end - YEAR_AGO
        return None


@dataclass
class Parsed:
    filters: Filters
    notes: list[tuple[str, str]] = field(default_factory=list)  # (parameter, reason key)


def _one(params: Mapping[str, object], name: str) -> str | None:
    value = params.get(name)
    if isinstance(value, list):
        value = value[-1] if value else None
    return None if value is None else str(value)


def _choice(params, name, allowed, default, notes) -> str:
    value = _one(params, name)
    if value is None or value == "":
        return default
    if value in allowed:
        return value
    notes.append((name, "invalid_value"))
    return default


def _members(params, name, allowed, notes) -> tuple[str, ...]:
    value = _one(params, name)
    if not value:
        return ()
    items = [item.strip() for item in value.split(",")[:MAX_LIST] if item.strip()]
    kept = tuple(dict.fromkeys(item for item in items if item in allowed))
    if len(kept) != len(items):
        notes.append((name, "invalid_value"))
    return kept


def _date(params, name, notes) -> date | None:
    value = _one(params, name)
    if not value:
        return None
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        notes.append((name, "invalid_date"))
        return None
    if not date.fromisoformat(EARLIEST_EVENT_DATE) <= parsed <= date(2100, 12, 31):
        notes.append((name, "invalid_date"))
        return None
    return parsed


def parse_params(params: Mapping[str, object]) -> Parsed:
    """Filters from query parameters; every invalid value falls back to its default with a note."""
    notes: list[tuple[str, str]] = []
    defaults = Filters()
    preset = _choice(params, "period", PRESETS, defaults.preset, notes)
    start, end = _date(params, "from", notes), _date(params, "to", notes)
    if preset == "custom":
        if start is None or end is None:
            notes.append(("period", "custom_needs_dates"))
            preset, start, end = defaults.preset, None, None
        elif end < start:
            notes.append(("to", "end_before_start"))
            preset, start, end = defaults.preset, None, None
    else:
        start = end = None
    filters = Filters(
        preset=preset,
        start=start,
        end=end,
        countries=_members(params, "country", COUNTRIES, notes),
        country_mode=_choice(params, "country_mode", COUNTRY_MODES, defaults.country_mode, notes),
        genders=_members(params, "gender", GENDERS, notes),
        age_groups=_members(params, "age", AGE_GROUPS, notes),
        features=_members(params, "feature", FEATURES, notes),
        comparison=_choice(params, "compare", COMPARISONS, defaults.comparison, notes),
        grain=_choice(params, "grain", GRAINS, defaults.grain, notes),
        lang=_choice(params, "lang", LANGUAGES, DEFAULT_LANGUAGE, notes),
    )
    return Parsed(filters, notes)


def to_params(filters: Filters) -> dict[str, str]:
    """Query parameters for a filter state; defaults are left out to keep links short."""
    defaults = replace(Filters(), lang=DEFAULT_LANGUAGE)
    params: dict[str, str] = {}
    if filters.preset != defaults.preset:
        params["period"] = filters.preset
    if filters.preset == "custom" and filters.start and filters.end:
        params["from"], params["to"] = filters.start.isoformat(), filters.end.isoformat()
    for name, values in (
        ("country", filters.countries),
        ("gender", filters.genders),
        ("age", filters.age_groups),
        ("feature", filters.features),
    ):
        if values:
            params[name] = ",".join(values)
    for name, value, default in (
        ("country_mode", filters.country_mode, defaults.country_mode),
        ("compare", filters.comparison, defaults.comparison),
        ("grain", filters.grain, defaults.grain),
        ("lang", filters.lang, defaults.lang),
    ):
        if value != default:
            params[name] = value
    return params
