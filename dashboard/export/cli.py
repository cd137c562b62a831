"""The export command line: a thin layer over `build_export` and `make_pack` that writes and logs.

What shapes it: a manager or a cron job reads its errors, so every error is
one line naming the problem, exit code 2, never a traceback, and nothing is
written when the arguments are wrong.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import NoReturn

import duckdb

from contract import AGE_GROUPS, COUNTRIES, FEATURES, GENDERS, LANGUAGES
from contract.export_log import DEFAULT_EXPORT_LOG, EXPORT_LOG_ENV
from dashboard import queries
from dashboard.export.logged import log_export, log_pack, log_path
from dashboard.export.packs import PACK_KINDS, make_pack, pack_period
from dashboard.export.render import FORMATS
from dashboard.export.table import PERIODS, build_export
from dashboard.filters import COMPARISONS, COUNTRY_MODES, Filters
from dashboard.store import StoreUnreadable, current_version


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # one clear line, no usage block
        self.exit(2, f"{self.prog}: error: {message}\n")


def _iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def _members(allowed: Sequence[str] | frozenset[str], what: str):
    def parse(value: str) -> tuple[str, ...]:
        items = tuple(dict.fromkeys(item.strip() for item in value.split(",") if item.strip()))
        bad = [item for item in items if item not in allowed]
        if bad or not items:
            raise argparse.ArgumentTypeError(f"unknown {what}: {','.join(bad) or value!r}")
        return items

    return parse


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m dashboard.export", description="Export gated visit counts as CSV.")
    p.add_argument("--db", required=True, type=Path, help="the store file")
    p.add_argument(
        "--by", type=_members(queries.GROUPABLE, "dimension"), default=(), help=f"any of {','.join(queries.GROUPABLE)}"
    )
    p.add_argument("--period", choices=PERIODS, help="a row per day, week, month or year")
    p.add_argument("--from", dest="start", type=_iso_date, help="first day, YYYY-MM-DD (Korea time)")
    p.add_argument("--to", dest="end", type=_iso_date, help="last day, YYYY-MM-DD (included)")
    p.add_argument(
        "--compare",
        choices=[c for c in COMPARISONS if c != "none"],
        help="add the previous period of the same length, or the same period a year before (as the dashboard)",
    )
    p.add_argument("--compare-from", type=_iso_date, help="or: the comparison period's first day, YYYY-MM-DD")
    p.add_argument("--compare-to", type=_iso_date, help="and its last day, YYYY-MM-DD (included)")
    p.add_argument("--pack", choices=PACK_KINDS, help="a ZIP of the standard tables of one month or ISO week")
    p.add_argument("--month", help="the pack's month, YYYY-MM (with --pack month)")
    p.add_argument("--week", help="the pack's ISO week, YYYY-Www (with --pack week)")
    p.add_argument("--format", dest="fmt", choices=FORMATS, default="excel")
    p.add_argument("--lang", choices=LANGUAGES, default="ko")
    p.add_argument("--feature", type=_members(FEATURES, "feature"), default=(), help="only these features")
    p.add_argument("--gender", type=_members(GENDERS, "gender"), default=(), help="only these genders")
    p.add_argument("--age", type=_members(AGE_GROUPS, "age group"), default=(), help="only these age groups")
    p.add_argument("--country", type=_members(COUNTRIES, "country code"), default=(), help="alpha-2 codes")
    p.add_argument("--country-mode", choices=COUNTRY_MODES, default="include")
    p.add_argument("--out", type=Path, help="output file, or the folder for a pack (default: this folder)")
    p.add_argument("--log", help=f"export log (default: ${EXPORT_LOG_ENV} or {DEFAULT_EXPORT_LOG})")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if args.pack is not None:
        return _main_pack(p, args)
    if args.month is not None or args.week is not None:
        p.error("--month and --week go with --pack")
    if args.start is None or args.end is None:
        p.error("give --from and --to (or --pack)")
    if not args.by and args.period is None:
        p.error("give --by, --period or both")
    if args.end < args.start:
        p.error("--to is before --from")
    comparison = _comparison(p, args)
    version = current_version(args.db)
    if version is None or not args.db.is_file():
        p.error(f"no store file at {args.db}")
    filters = Filters(
        preset="custom",
        start=args.start,
        end=args.end,
        countries=args.country,
        country_mode=args.country_mode,
        genders=args.gender,
        age_groups=args.age,
        features=args.feature,
        lang=args.lang,
    )
    try:
        export = build_export(
            version, filters, args.by, args.period, args.start, args.end, args.fmt, args.lang, comparison
        )
    except (StoreUnreadable, duckdb.Error):
        # DuckDB's own message may quote the file's content: name the file only (rule 3)
        p.error(f"not a readable store: {args.db}")
    except ValueError as error:
        p.error(str(error))
    out = args.out or Path(export.filename)
    try:
        out.write_bytes(export.content)
        log_export(export, log_path(args.log), out.name, out)
    except OSError as error:
        p.error(f"cannot write {error.filename}: {error.strerror}")
    print(f"{out}: {export.rows} rows, sha256 {export.sha256}")
    return 0


def _comparison(p: argparse.ArgumentParser, args: argparse.Namespace) -> tuple[date, date] | None:
    """The comparison period: named (--compare), given (--compare-from/--compare-to), or none."""
    given = (args.compare_from, args.compare_to)
    if args.compare is not None:
        if any(given):
            p.error("give --compare or --compare-from/--compare-to, not both")
        return Filters(preset="custom", start=args.start, end=args.end, comparison=args.compare).comparison_period()
    if not any(given):
        return None
    if not all(given):
        p.error("--compare-from and --compare-to go together")
    if args.compare_to < args.compare_from:
        p.error("--compare-to is before --compare-from")
    return args.compare_from, args.compare_to


def _main_pack(p: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    given = {
        "--by": bool(args.by),
        "--period": args.period is not None,
        "--from": args.start is not None,
        "--to": args.end is not None,
        "--feature": bool(args.feature),
        "--gender": bool(args.gender),
        "--age": bool(args.age),
        "--country": bool(args.country),
        "--country-mode": args.country_mode != "include",
        "--compare": args.compare is not None,
        "--compare-from": args.compare_from is not None,
        "--compare-to": args.compare_to is not None,
    }
    clash = [option for option, present in given.items() if present]
    if clash:
        p.error(f"--pack takes no {', '.join(clash)}: a pack holds the standard tables, unfiltered")
    period_text = args.month if args.pack == "month" else args.week
    other = args.week if args.pack == "month" else args.month
    if other is not None:
        p.error(f"--pack {args.pack} takes --{args.pack}, not --{'week' if args.pack == 'month' else 'month'}")
    if period_text is None:
        p.error(f"--pack {args.pack} needs --{args.pack}")
    try:
        pack_period(args.pack, period_text)
    except ValueError as error:
        p.error(str(error))
    out_dir = args.out or Path()
    if not out_dir.is_dir():
        p.error(f"--out is not a folder: {out_dir}")
    version = current_version(args.db)
    if version is None or not args.db.is_file():
        p.error(f"no store file at {args.db}")
    try:
        pack = make_pack(version, args.pack, period_text, args.lang, args.fmt)
    except (StoreUnreadable, duckdb.Error):
        p.error(f"not a readable store: {args.db}")
    except ValueError as error:
        p.error(str(error))
    out = out_dir / pack.filename
    try:
        out.write_bytes(pack.content)
        log_pack(pack, log_path(args.log), out)
    except OSError as error:
        p.error(f"cannot write {error.filename}: {error.strerror}")
    print(f"{out}: {len(pack.exports)} tables, sha256 {pack.sha256}")
    return 0
