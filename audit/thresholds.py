"""The thresholds of the audit: where checks 2, 5 and 7 draw the line.

The defaults live in thresholds.toml beside this module (and the contract's
MIN_CELL and EARLIEST_EVENT_DATE); a `--config` file may override any key, and
anything else in it (an unknown key, a wrong type) stops the audit before it
runs, so that a report never rests on a threshold nobody set.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from datetime import date
from pathlib import Path
from typing import Any

from audit.results import CannotAudit
from contract import EARLIEST_EVENT_DATE, MIN_CELL

DEFAULT_THRESHOLDS = Path(__file__).with_name("thresholds.toml")


@dataclass(frozen=True)
class Thresholds:
    """Where the checks draw the line; the defaults live in thresholds.toml."""

    k: int
    max_share_of_records_at_risk: float
    max_average_risk: float
    max_highest_risk: float
    min_cell: int
    earliest_event_date: str


def load_thresholds(path: Path | None = None) -> Thresholds:
    """The contract's and thresholds.toml's values, overridden by the keys of a TOML file (`--config`)."""
    values: dict[str, Any] = {"min_cell": MIN_CELL, "earliest_event_date": EARLIEST_EVENT_DATE}
    for source in (DEFAULT_THRESHOLDS, path):
        if source is None:
            continue
        try:
            data = tomllib.loads(Path(source).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise CannotAudit(f"{source}: not a readable TOML file ({type(error).__name__})") from None
        # keys count in any section, or at the top
        for key, section in data.items():
            values.update(section if isinstance(section, dict) else {key: section})
    unknown = sorted(set(values) - {f.name for f in fields(Thresholds)})
    if unknown:
        raise CannotAudit(f"{path}: unknown threshold(s): {', '.join(unknown)}")
    for name, value in values.items():
        if name in ("k", "min_cell"):
            ok, wanted = isinstance(value, int) and not isinstance(value, bool), "a whole number"
        elif name == "earliest_event_date":
            ok, wanted = isinstance(value, str), "a date"
        else:
            ok, wanted = isinstance(value, int | float) and not isinstance(value, bool), "a number"
        if not ok:
            raise CannotAudit(f"{path}: {name} must be {wanted}")
    try:
        date.fromisoformat(values["earliest_event_date"])
    except ValueError:
        raise CannotAudit(f"{path}: earliest_event_date is not a date (YYYY-MM-DD)") from None
    thresholds = Thresholds(**values)
    if thresholds.k < 2 or thresholds.min_cell < 2:
        raise CannotAudit(f"{path}: k and min_cell must be at least 2")
    return thresholds
