"""Command line of the ETL: generate, load, batches, remove-batch.

A thin layer over etl.load, etl.publish and etl.generate. Every message it
prints names files, rows and reasons, never a value from a raw file. The
privacy audit is not here: it checks the ETL's work without its code, as
`python -m audit`. A command imports only what it uses (pyarrow, Faker and
rich cost more time to import than a small load takes): the progress bar's
rich only on a terminal.
"""

from __future__ import annotations

import argparse
import sys
import time
from contextlib import ExitStack
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from contract import DEFAULT_STORE
from etl.errors import EtlError

if TYPE_CHECKING:
    from etl.load import FileResult

EXIT_OK, EXIT_FAILED, EXIT_REFUSED = 0, 1, 2
AUDIT_MOVED = "python -m audit --db PATH [--exports DIR] [--export-log PATH] [--report PATH] [--config TOML]"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m etl", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    db_option = argparse.ArgumentParser(add_help=False)
    db_option.add_argument("--db", type=Path, default=Path(DEFAULT_STORE), help="the store (default: %(default)s)")
    db_option.add_argument(
        "--wait", type=float, default=0.0, metavar="SECONDS", help="wait this long for another ETL run to finish"
    )

    generate = commands.add_parser("generate", help="write a synthetic raw export or access log (demo data)")
    generate.add_argument(
        "--kind",
        choices=("export", "access-log"),
        default="export",
        help="the form export (default) or the web server's access log for the same days",
    )
    generate.add_argument("--rows", type=int, default=100_000, help="form submissions (an access log: their traffic)")
    generate.add_argument("--seed", type=int, default=42)
    generate.add_argument(
        "--out",
        type=Path,
        help=".csv, .jsonl, optionally .gz (default data/raw/demo.csv); an access log: any name, .gz compressed "
        "(default data/raw/access.log)",
    )
    generate.add_argument("--start", type=date.fromisoformat, help="first day (default: 3 years before --end)")
    generate.add_argument("--end", type=date.fromisoformat, help="last day (default: a fixed date, for same bytes)")
    generate.add_argument("--dirty-share", type=float, default=0.02, help="share of defective rows (or lines)")
    generate.add_argument(
        "--since",
        type=date.fromisoformat,
        help="an access log: write only its days from about this one on (the same lines as the whole log's)",
    )
    generate.add_argument(
        "--mix",
        choices=("clean", "real"),
        default="clean",
        help="spellings of timestamps and dates of birth: the site's (clean) or a real back office's mix (real)",
    )

    load_cmd = commands.add_parser(
        "load", parents=[db_option], help="load raw exports and web server access logs (told apart by content)"
    )
    load_cmd.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    load_cmd.add_argument("--rejects", type=Path, help="write file, row number and reason of each rejected row")
    load_cmd.add_argument(
        "--purge-source", action="store_true", help="after a successful publish, overwrite and delete each loaded file"
    )

    commands.add_parser("batches", parents=[db_option], help="list the load batches")
    remove = commands.add_parser("remove-batch", parents=[db_option], help="take one batch out of the store")
    remove.add_argument("batch_id", type=int)

    # listed for the help only: main() answers `audit` with a pointer before parsing its options
    commands.add_parser("audit", help="moved: python -m audit (the privacy audit is its own command)")
    return parser


def _print_error(text: str) -> None:
    print(text, file=sys.stderr)


def _print_results(results: list[FileResult], seconds: float) -> None:
    for result in results:
        if result.status == "refused":
            continue
        if result.status == "skipped":
            print(f"{result.path}: skipped: {result.reason}")
            continue
        if result.kind == "access_log":
            print(
                f"{result.path}: batch {result.batch_id} (access log): {result.rows_read:,} lines read, "
                f"{result.rows_loaded:,} counted as a view or a submit, {sum(result.ignored.values()):,} not counted, "
                f"{result.rows_rejected:,} rejected ({result.seconds:.1f} s)"
            )
        else:
            print(
                f"{result.path}: batch {result.batch_id}: {result.rows_read:,} rows read, "
                f"{result.rows_loaded:,} loaded, {result.rows_rejected:,} rejected ({result.seconds:.1f} s)"
            )
        if not result.in_time_order:
            print("  not in time order: read twice, every visitor held in memory until its end")
        for reason, count in result.ignored.items():
            print(f"  not counted, {reason}: {count:,}")
        for reason, count in result.rejected.items():
            print(f"  rejected {reason}: {count:,}")
        if result.unknown_columns:
            print(f"  columns not loaded (not on the allowlist): {', '.join(result.unknown_columns)}")
        if result.source_destroyed:
            print("  source file destroyed (overwritten and deleted)")
    loaded = [r for r in results if r.status == "loaded"]
    print(
        f"{len(loaded)} file(s) loaded, {sum(r.status == 'skipped' for r in results)} skipped, "
        f"{sum(r.status == 'refused' for r in results)} refused; "
        f"{sum(r.rows_loaded for r in loaded):,} rows loaded, {sum(r.rows_rejected for r in loaded):,} rejected "
        f"in {seconds:.1f} s"
    )


def _load(args: argparse.Namespace) -> int:
    from etl.load import load

    started = time.monotonic()
    with ExitStack() as stack:
        progress_for = None
        if sys.stdout.isatty():
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            bar = stack.enter_context(
                Progress(
                    TextColumn("{task.description}"),
                    BarColumn(),
                    DownloadColumn(),
                    TransferSpeedColumn(),
                    TimeRemainingColumn(),
                    console=Console(highlight=False, soft_wrap=True),
                    transient=True,
                )
            )

            def progress_for(path: Path):
                task = bar.add_task(path.name, total=path.stat().st_size if path.exists() else None)
                return lambda done, total: bar.update(task, completed=done, total=total)

        results = load(
            args.paths,
            args.db,
            rejects_path=args.rejects,
            purge_source=args.purge_source,
            progress_for=progress_for,
            lock_wait_seconds=args.wait,
        )
    for result in results:
        if result.status == "refused":
            _print_error(f"{result.path}: refused: {result.reason}")
    _print_results(results, time.monotonic() - started)
    return EXIT_REFUSED if any(r.status == "refused" for r in results) else EXIT_OK


def _batches(args: argparse.Namespace) -> int:
    from etl.publish import read_batches

    if not args.db.exists():
        raise EtlError(f"{args.db}: no store here yet; load a raw export first")
    batches = read_batches(args.db)
    if not batches:
        print("no batches")
    for b in batches:
        destroyed = f", source destroyed {b['source_destroyed_at']}" if b["source_destroyed"] else ""
        # an access log's "rows" are its lines, of which the views and submits are counted
        loaded = "lines counted" if b["file_format"].startswith("access_log") else "loaded"
        print(
            f"{b['batch_id']}\t{b['file_name']}\t{b['loaded_at']}\t{b['rows_loaded']:,} {loaded}, "
            f"{b['rows_rejected']:,} rejected\t{b['first_event_date']}..{b['last_event_date']}\t"
            f"blake3 {b['content_blake3'][:12]}{destroyed}"
        )
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["audit"]:
        # the audit checks the ETL without its code, so the ETL cannot run it: say where it went
        _print_error(f"the privacy audit is its own command now: {AUDIT_MOVED}")
        return EXIT_REFUSED
    args = _parser().parse_args(argv)
    try:
        if args.command == "generate" and args.kind == "access-log":
            from etl.generate_log import generate_log

            log = generate_log(
                args.out or Path("data/raw/access.log"),
                args.rows,
                args.seed,
                start=args.start,
                end=args.end,
                defect_share=args.dirty_share,
                since=args.since,
            )
            print(
                f"{log.path}: {log.lines:,} lines ({log.bot_lines:,} from bots, {log.malformed_lines:,} malformed; "
                f"{log.total('view'):,} views, {log.total('submit'):,} submits), "
                f"{log.bytes_written:,} bytes in {log.seconds:.1f} s"
            )
            return EXIT_OK
        if args.command == "generate":
            from etl.generate import generate

            summary = generate(
                args.out or Path("data/raw/demo.csv"),
                args.rows,
                args.seed,
                start=args.start,
                end=args.end,
                dirty_share=args.dirty_share,
                mix=args.mix,
            )
            print(
                f"{summary.path}: {summary.rows:,} rows ({summary.dirty_rows:,} defective), "
                f"{summary.bytes_written:,} bytes in {summary.seconds:.1f} s"
            )
            return EXIT_OK
        if args.command == "load":
            return _load(args)
        if args.command == "batches":
            return _batches(args)
        if args.command == "remove-batch":
            from etl.load import remove_batch

            batch = remove_batch(args.db, args.batch_id, lock_wait_seconds=args.wait)
            print(f"batch {args.batch_id} ({batch['file_name']}, {batch['rows_loaded']:,} rows) removed from {args.db}")
            return EXIT_OK
    except EtlError as error:
        _print_error(str(error))
        return EXIT_REFUSED
    except Exception as error:
        # a library's own text may quote a raw line: name the kind of failure only
        _print_error(
            f"{args.command} failed: unexpected {type(error).__name__}; no detail is shown, as it may quote raw data"
        )
        return EXIT_FAILED
    return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
