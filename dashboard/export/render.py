"""The two CSV flavours of a gated table: `excel` for managers, `raw` for machines.

`excel`: UTF-8 with BOM, CRLF, labels in the UI language, `<10` / `x` for
suppressed cells, the grand total and notes on the time zone and the marks.
`raw`: UTF-8, LF, machine column names, suppressed cells empty with
`suppressed` = `true`. What shapes it: a manager's Excel executes a cell that
starts with a formula character, so every text cell starting with one of
`contract.FORMULA_STARTS` is escaped, and a number never is (it would become
text). The bytes are compared byte for byte with golden files.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date

import pandas as pd

from contract import FORMULA_STARTS, TIMEZONE, small_mark
from dashboard.gate import SHOWN, change_of, format_count, share
from dashboard.i18n import country_name, t

FORMATS = ("excel", "raw")
RAW_COLUMN = {
    "feature": "feature",
    "country": "country_code",
    "gender": "gender",
    "age_group": "age_group",
    "step": "step",
    "device": "device",
}

# a grand total as the gate gives it: (count or None, status)
Total = tuple[int | None, str]


def escape_text(value: str) -> str:
    """A text cell made safe for spreadsheets: a leading formula character gets a `'` in front."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _cell(value: object) -> str:
    # numbers are written as they are: escaping would turn them into text
    if isinstance(value, int | float):
        return str(value)
    return escape_text(str(value))


def csv_bytes(rows: Sequence[Sequence[object]], *, excel: bool) -> bytes:
    """The rows as CSV in the flavour's encoding and line ends, every text cell escaped."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n" if excel else "\n")
    writer.writerows([[_cell(value) for value in row] for row in rows])
    # the BOM is what makes Excel read UTF-8 (Hangul) instead of the system code page
    return out.getvalue().encode("utf-8-sig" if excel else "utf-8")


def export_filename(
    by: Sequence[str],
    period: str | None,
    start: date,
    end: date,
    fmt: str,
    lang: str,
    filtered: bool,
    comparison: tuple[date, date] | None = None,
    measure: str = "visits",
) -> str:
    """An ASCII file name that states the count, the selection, the period and the comparison period."""
    parts = [measure, "by", "-".join(by) if by else "total", period or "all", start.isoformat(), end.isoformat()]
    if comparison is not None:
        parts += ["vs", comparison[0].isoformat(), comparison[1].isoformat()]
    if filtered:
        parts.append("filtered")
    parts.append(lang if fmt == "excel" else "raw")
    return "_".join(parts) + ".csv"


def excel_rows(
    cells: pd.DataFrame,
    by: Sequence[str],
    period: str | None,
    lang: str,
    min_cell: int,
    total: Total,
    comparison: tuple[date, date] | None = None,
    before_total: Total | None = None,
    measure: str = "visits",
) -> list[list[object]]:
    """The manager's table: labelled header, the cells, the grand total and the notes.

    With `comparison`, `cells` holds the columns `compare.compared` adds and
    `before_total` is the comparison period's grand total.
    """
    header = ([f"{t(period, lang)} ({TIMEZONE})"] if period else []) + [t(dim, lang) for dim in by]
    header.append(t(measure, lang))
    if comparison is not None:
        header += ([f"{t('comparison_series', lang)}: {t(period, lang)}"] if period else []) + [
            f"{t('comparison_series', lang)}: {t(measure, lang)}"
            if measure != "visits"
            else t("comparison_visits", lang),
            t("change_percent", lang),
        ]
    rows: list[list[object]] = [header]
    for record in cells.itertuples(index=False):
        values = record._asdict()
        row: list[object] = [_iso(values["period"])] if period else []
        row += [_label(dim, values[dim], lang) for dim in by]
        row.append(_count(values["visits"], values["status"], min_cell))
        if comparison is not None:
            row += [_iso(values["before_period"])] if period else []
            row += [_count(values["before"], values["before_status"], min_cell), _percent(values["change"])]
        rows.append(row)
    dims = (["period"] if period else []) + list(by)
    last = ["" for _ in dims[1:]] + [_count(*total, min_cell)]
    if before_total is not None:
        last += [""] if period else []
        last += [_count(*before_total, min_cell), _percent(change_of(total[0], before_total[0]))]
    rows.append([t("total", lang), *last])
    rows.append([])
    rows.append([t("times_in", lang)])
    rows.append([f"{small_mark(min_cell)}: {t('suppressed_small', lang)}"])
    rows.append([t("perturbed_note", lang)])
    if measure != "visits":  # where a country comes from and what a visitor is, as the Traffic page says
        rows.append([t("traffic_note", lang)])
    if comparison is not None:
        rows.append([t("comparison_note", lang).format(start=comparison[0].isoformat(), end=comparison[1].isoformat())])
    return rows


def funnel_excel_rows(
    cells: pd.DataFrame,
    by: Sequence[str],
    period: str | None,
    lang: str,
    min_cell: int,
    totals: dict[str, Total],
) -> list[list[object]]:
    """The funnel for managers: visitors who viewed, who submitted, the conversion (%); the totals; the notes."""
    header = ([f"{t(period, lang)} ({TIMEZONE})"] if period else []) + [t(dim, lang) for dim in by]
    header += [t("viewers", lang), t("submitters", lang), f"{t('conversion', lang)} (%)"]
    rows: list[list[object]] = [header]
    for record in cells.itertuples(index=False):
        values = record._asdict()
        row: list[object] = [_iso(values["period"])] if period else []
        row += [_label(dim, values[dim], lang) for dim in by]
        row += [_count(values[name], values[f"{name}_status"], min_cell) for name in ("viewers", "submitters")]
        row.append(_percent(values["conversion"]))
        rows.append(row)
    dims = (["period"] if period else []) + list(by)
    viewers, submitters = totals["viewers"], totals["submitters"]
    rate = share(pd.Series([submitters[0]], dtype="Float64"), viewers[0]).iloc[0]  # None where hidden
    rows.append([t("total", lang), *["" for _ in dims[1:]], _count(*viewers, min_cell), _count(*submitters, min_cell),
                 _percent(rate)])  # fmt: skip
    rows.append([])
    rows.append([t("times_in", lang)])
    rows.append([f"{small_mark(min_cell)}: {t('suppressed_small', lang)}"])
    rows.append([t("perturbed_note", lang)])
    rows.append([t("conversion_note", lang)])
    rows.append([t("traffic_note", lang)])
    return rows


def funnel_raw_rows(cells: pd.DataFrame, by: Sequence[str], period: str | None) -> list[list[object]]:
    """The funnel for machines: codes, each step's visitors with its `suppressed` flag, the conversion ratio."""
    header = ([f"event_{period}"] if period else []) + [RAW_COLUMN[dim] for dim in by]
    header += ["viewers", "viewers_suppressed", "submitters", "submitters_suppressed", "conversion"]
    rows: list[list[object]] = [header]
    for record in cells.itertuples(index=False):
        values = record._asdict()
        row: list[object] = [_iso(values["period"])] if period else []
        row += [values[dim] for dim in by]
        for name in ("viewers", "submitters"):
            row += _raw_count(values[name], values[f"{name}_status"])
        row.append("" if pd.isna(values["conversion"]) else round(float(values["conversion"]), 4))
        rows.append(row)
    return rows


def raw_rows(
    cells: pd.DataFrame, by: Sequence[str], period: str | None, compared: bool, measure: str = "visits"
) -> list[list[object]]:
    """The machine's table: column names, codes, an empty count and `suppressed` = `true` where hidden."""
    header = ([f"event_{period}"] if period else []) + [RAW_COLUMN[dim] for dim in by] + [measure, "suppressed"]
    if compared:
        header += ([f"comparison_event_{period}"] if period else []) + [
            f"comparison_{measure}",
            "comparison_suppressed",
            "change",
        ]
    rows: list[list[object]] = [header]
    for record in cells.itertuples(index=False):
        values = record._asdict()
        row: list[object] = [_iso(values["period"])] if period else []
        row += [values[dim] for dim in by]
        row += _raw_count(values["visits"], values["status"])
        if compared:
            row += [_iso(values["before_period"])] if period else []
            row += _raw_count(values["before"], values["before_status"])
            row.append("" if pd.isna(values["change"]) else round(float(values["change"]), 4))
        rows.append(row)
    return rows


def _label(dim: str, code: str, lang: str) -> str:
    return country_name(code, lang) if dim == "country" else t(code, lang)


def _iso(value: object) -> str:
    return "" if pd.isna(value) else pd.Timestamp(value).date().isoformat()


def _percent(value: object) -> object:
    # a number, so that Excel sorts and charts it; one decimal, as on screen
    return "" if value is None or pd.isna(value) else round(float(value) * 100, 1)


def _raw_count(visits: object, status: object) -> list[object]:
    if pd.isna(status):
        return ["", ""]  # no such period in this window
    shown = status == SHOWN
    return [int(visits) if shown else "", "false" if shown else "true"]


def _count(visits: object, status: object, min_cell: int) -> object:
    """A shown count as a plain integer (no thousands separator); `<10` or `x` where suppressed."""
    if pd.isna(status):
        return ""  # no such period in this window
    return int(visits) if status == SHOWN else format_count(visits, status, min_cell)
