"""The export command line: a thin layer over `build_export` and `make_pack` that writes and logs.

    python -m dashboard.export table --db data/visitors.duckdb --by feature,country --period month \\
        --from 2025-01-01 --to 2025-12-31 [--compare previous|last_year] --out summary.csv
    python -m dashboard.export table --db data/visitors.duckdb --count visitors --by feature,step \\
        --from 2025-10-01 --to 2025-10-31 --out funnel.csv
    python -m dashboard.export pack month --db data/visitors.duckdb --month 2025-10 --out reports/
    python -m dashboard.export pack week --db data/visitors.duckdb --week 2025-W42 --out reports/

One subcommand per kind of file, each with only its own options. The older
spelling without a subcommand (`--by ...` for a table, `--pack month --month
...` for a pack) still works: `new_spelling` rewrites it before parsing. What
shapes it: a manager or a cron job reads its errors, so every error is one
line naming the problem, exit code 2, never a traceback, and nothing is
written when the arguments are wrong.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import NoReturn

import duckdb

from contract import AGE_GROUPS, COUNTRIES, FEATURES, GENDERS, LANGUAGES
from contract.export_log import DEFAULT_EXPORT_LOG, EXPORT_LOG_ENV, Author
from dashboard.export.logged import log_export, log_pack, log_path
from dashboard.export.packs import PACK_KINDS, make_pack, pack_period
from dashboard.export.render import FORMATS
from dashboard.export.table import COUNTS, PERIODS, build_export, groupable
from dashboard.filters import COMPARISONS, COUNTRY_MODES, Filters
from dashboard.store import StoreUnreadable, StoreVersion, current_version

PROG = "python -m dashboard.export"
COMMANDS = ("table", "pack")
PACK_SHAPES = {"month": "YYYY-MM", "week": "YYYY-Www"}
PACK_HELP = {"month": "one calendar month", "week": "one ISO week, Monday to Sunday"}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # one clear line, no usage block
        self.exit(2, f"{self.prog}: error: {message}\n")


def _iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def _members(allowed: Sequence[str] | frozenset[str], what: str) -> Callable[[str], tuple[str, ...]]:
    def parse(value: str) -> tuple[str, ...]:
        items = tuple(dict.fromkeys(item.strip() for item in value.split(",") if item.strip()))
        bad = [item for item in items if item not in allowed]
        if bad or not items:
            raise argparse.ArgumentTypeError(f"unknown {what}: {','.join(bad) or value!r}")
        return items

    return parse


def _period_text(kind: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        try:
            pack_period(kind, value)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
        return value

    return parse


def _common_options() -> argparse.ArgumentParser:
    """The options every subcommand has: the store, the flavour and the log."""
    p = _Parser(add_help=False)
    p.add_argument("--db", required=True, type=Path, help="the store file")
    p.add_argument("--format", dest="fmt", choices=FORMATS, default="excel", help="excel (labels, BOM) or raw (codes)")
    p.add_argument("--lang", choices=LANGUAGES, default="ko", help="the language of the labels")
    p.add_argument("--log", help=f"export log (default: ${EXPORT_LOG_ENV} or {DEFAULT_EXPORT_LOG})")
    return p


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="Export gated visit counts as CSV: one table, or a report pack.")
    commands = p.add_subparsers(dest="command", required=True, metavar="{table,pack}")
    common = [_common_options()]

    table = commands.add_parser("table", parents=common, help="one table as CSV", description="One table as CSV.")
    table.set_defaults(run=_run_table, parser=table)
    table.add_argument(
        "--count",
        dest="measure",
        choices=COUNTS,
        default="visits",
        help="submissions (visits, the default), or web traffic from the access logs: page views, visitors, or "
        "the funnel (visitors who viewed and who submitted side by side, and the conversion)",
    )
    dimensions = tuple(dict.fromkeys(dim for count in COUNTS for dim in groupable(count)))
    by_count = "; ".join(f"{count}: {','.join(groupable(count))}" for count in COUNTS)
    table.add_argument("--by", type=_members(dimensions, "dimension"), default=(), help=f"any of, by count, {by_count}")
    table.add_argument("--period", choices=PERIODS, help="a row per day, week, month or year")
    table.add_argument(
        "--from",
        dest="start",
        required=True,
        type=_iso_date,
        metavar="YYYY-MM-DD",
        help="the first day (Korea time)",
    )
    table.add_argument(
        "--to", dest="end", required=True, type=_iso_date, metavar="YYYY-MM-DD", help="the last day (included)"
    )
    table.add_argument(
        "--compare",
        choices=[c for c in COMPARISONS if c != "none"],
        help="add the previous period of the same length, or the same period a year before (as the dashboard)",
    )
    table.add_argument(
        "--compare-from", type=_iso_date, metavar="YYYY-MM-DD", help="or: the comparison period's first day"
    )
    table.add_argument("--compare-to", type=_iso_date, metavar="YYYY-MM-DD", help="and its last day (included)")
    table.add_argument("--feature", type=_members(FEATURES, "feature"), default=(), help="only these features")
    table.add_argument("--gender", type=_members(GENDERS, "gender"), default=(), help="only these genders")
    table.add_argument("--age", type=_members(AGE_GROUPS, "age group"), default=(), help="only these age groups")
    table.add_argument("--country", type=_members(COUNTRIES, "country code"), default=(), help="alpha-2 codes")
    table.add_argument("--country-mode", choices=COUNTRY_MODES, default="include")
    table.add_argument("--out", type=Path, help="the CSV file (default: a name stating the selection, here)")

    pack = commands.add_parser(
        "pack", help="a ZIP of the standard tables of one month or ISO week", description="A report pack."
    )
    kinds = pack.add_subparsers(dest="kind", required=True, metavar="{month,week}")
    for kind in PACK_KINDS:
        one = kinds.add_parser(
            kind, parents=common, help=PACK_HELP[kind], description=f"The pack of {PACK_HELP[kind]}."
        )
        one.set_defaults(run=_run_pack, parser=one)
        one.add_argument(
            f"--{kind}", dest="period_text", metavar=PACK_SHAPES[kind], required=True, type=_period_text(kind)
        )
        one.add_argument("--out", type=Path, default=Path(), help="the ZIP's folder, made if missing (default: here)")
    return p


def new_spelling(argv: Sequence[str]) -> list[str]:
    """The arguments in the subcommand spelling: the old one had none (a table) or `--pack KIND` (a pack)."""
    argv = list(argv)
    if not argv or argv[0] in (*COMMANDS, "-h", "--help"):
        return argv
    for i, arg in enumerate(argv):
        if arg == "--pack":
            return ["pack", *argv[i + 1 : i + 2], *argv[:i], *argv[i + 2 :]]
        if arg.startswith("--pack="):
            return ["pack", arg.removeprefix("--pack="), *argv[:i], *argv[i + 1 :]]
    return ["table", *argv]


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(new_spelling(sys.argv[1:] if argv is None else argv))
    # the subcommand's own parser reports its errors, so that they name it
    return args.run(args.parser, args)


def _run_table(p: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if not args.by and args.period is None:
        p.error("give --by, --period or both")
    if args.end < args.start:
        p.error("--to is before --from")
    if args.measure != "visits" and (args.gender or args.age):
        p.error(f"--gender and --age do not apply to web traffic ({args.measure}): an access log has neither")
    comparison = _comparison(p, args)
    version = _version(p, args.db)
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
    with _readable(p, args.db):
        export = build_export(
            version, filters, args.by, args.period, args.start, args.end, args.fmt, args.lang, comparison,
            measure=args.measure,
        )  # fmt: skip
    out = args.out or Path(export.filename)
    with _writing(p):
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(export.content)
        log_export(export, log_path(args.log), Author.command_line(), out.name, out)
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


def _run_pack(p: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if args.out.exists() and not args.out.is_dir():
        p.error(f"--out is a file, not a folder: {args.out}")
    version = _version(p, args.db)
    with _readable(p, args.db):
        pack = make_pack(version, args.kind, args.period_text, args.lang, args.fmt)
    out = args.out / pack.filename
    with _writing(p):
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(pack.content)
        log_pack(pack, log_path(args.log), Author.command_line(), out)
    print(f"{out}: {len(pack.exports)} tables, sha256 {pack.sha256}")
    return 0


def _version(p: argparse.ArgumentParser, db: Path) -> StoreVersion:
    version = current_version(db)
    if version is None or not db.is_file():
        p.error(f"no store file at {db}")
    return version


@contextmanager
def _readable(p: argparse.ArgumentParser, db: Path) -> Iterator[None]:
    """Building from the store: an unreadable store or a selection no export can have is one line."""
    try:
        yield
    except (StoreUnreadable, duckdb.Error):
        # DuckDB's own message may quote the file's content: name the file only (rule 3)
        p.error(f"not a readable store: {db}")
    except ValueError as error:
        p.error(str(error))


@contextmanager
def _writing(p: argparse.ArgumentParser) -> Iterator[None]:
    """Writing a file, then its log lines: an OS error is one line naming the path."""
    try:
        yield
    except OSError as error:
        p.error(f"cannot write {error.filename}: {error.strerror}")
