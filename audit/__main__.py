"""Command line of the audit: certify the store and the exports (exit 0 pass, 1 fail, 2 cannot run).

`python -m audit --db PATH [--exports DIR] [--export-log PATH] [--report PATH] [--config TOML]`.
A thin layer over `run_audit`, in the standard library only (the audit depends
on nothing the ETL or the dashboard installs). Every message it prints names
files and reasons, never a value from the store or an export.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from audit import CannotAudit, load_thresholds, run_audit
from contract import DEFAULT_STORE
from contract.export_log import DEFAULT_EXPORT_LOG, EXPORT_LOG_ENV

EXIT_PASSED, EXIT_FAILED, EXIT_CANNOT_RUN = 0, 1, 2


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m audit",
        description="Certify the store and the exports: exit 0 when every check passes, 1 when one fails, "
        "2 when the audit cannot run.",
    )
    p.add_argument("--db", type=Path, default=Path(DEFAULT_STORE), help="the store (default: %(default)s)")
    p.add_argument("--exports", type=Path, metavar="DIR", help="a folder of exported CSV files and report packs")
    p.add_argument(
        "--export-log",
        type=Path,
        metavar="PATH",
        help=f"the export log (default: ${EXPORT_LOG_ENV} or {DEFAULT_EXPORT_LOG})",
    )
    p.add_argument("--report", type=Path, metavar="PATH", help="write the full report as PATH.md and PATH.json")
    p.add_argument("--config", type=Path, metavar="TOML", help="thresholds overriding audit/thresholds.toml")
    return p


def _say(line: str) -> None:
    print(line, flush=True)


def _complain(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def audit(args: argparse.Namespace) -> int:
    try:
        report = run_audit(args.db, args.exports, args.export_log, load_thresholds(args.config))
    except CannotAudit as error:
        _complain(f"audit cannot run: {error}")
        return EXIT_CANNOT_RUN
    for line in report.verdict_lines():
        _say(line)
    if args.report is not None:
        try:
            markdown, data = report.write(args.report)
        except OSError as error:
            _complain(f"audit: cannot write the report: {error.filename}: {error.strerror}")
            return EXIT_CANNOT_RUN
        _say(f"report: {markdown} and {data}")
    return EXIT_PASSED if report.passed else EXIT_FAILED


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return audit(args)
    except Exception as error:
        # a library's own text may quote what it read: name the kind of failure only
        _complain(f"audit failed: unexpected {type(error).__name__}; no detail is shown, as it may quote raw data")
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
