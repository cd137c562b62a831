"""The privacy officer's audit (`python -m audit`): planted stores and exports, each caught by the right check.

Stores are built by the real ETL, then changed here with DuckDB the way a
buggy or careless writer would; exports are written by the real export
command, then changed the same way. The audit must fail each with the right
finding, never print a planted value in full, and pass the project's own
output on a hostile raw file.
"""

from __future__ import annotations

import ast
import csv
import dataclasses
import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
from conftest import REPO
from test_privacy import Hostile

from audit import (
    ByteFigures,
    CannotAudit,
    CheckKey,
    DomainFigures,
    ExportFigures,
    PatternFigures,
    PtableInUse,
    RiskFigures,
    SchemaFigures,
    Under14Figures,
    load_thresholds,
    run_audit,
)
from audit.export_checks import check_csv
from contract import country_name, korea_today
from contract.ptable import perturb
from dashboard.export import main as export_main
from etl.generate import generate
from etl.generate_log import generate_log
from etl.load import load

# the month the generated store covers; exports are taken from it
FIRST, LAST = date(2025, 9, 1), date(2025, 10, 31)
EMAIL = "hong.gildong.zq@privacy-test.example"
PHONE = "010-4821-7765"
RRN = "960121-1021413"  # a resident registration number with a valid checksum


def audit_cli(*args: object, log: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "audit", *map(str, args), "--export-log", str(log)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def export_cli(db: Path, out: Path, log: Path, *args: str) -> Path:
    code = export_main(["--db", str(db), *args, "--out", str(out), "--log", str(log)])
    assert code == 0
    return out


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path, list[str]]:
    """A store from generated data and a hostile export, its exports in a folder and their log; and the markers."""
    folder = tmp_path_factory.mktemp("audit")
    generate(folder / "raw" / "demo.csv", 40_000, seed=7, start=FIRST, end=LAST)
    hostile = Hostile(seed=11)
    hostile.csv_export(folder / "raw" / "hostile.csv", header_markers=True)
    hostile.jsonl_export(folder / "raw" / "hostile.jsonl")
    generate_log(folder / "raw" / "access.log.gz", 400, seed=7, start=FIRST, end=LAST)
    db = folder / "store" / "visitors.duckdb"
    raw = ["demo.csv", "hostile.csv", "hostile.jsonl", "access.log.gz"]
    results = load([folder / "raw" / name for name in raw], db)
    assert [r.status for r in results] == ["loaded"] * 4
    exports, log = folder / "exports", folder / "exports.log"
    exports.mkdir()
    period = ["--from", FIRST.isoformat(), "--to", LAST.isoformat()]
    export_cli(db, exports / "by-country.csv", log, "--by", "country,feature", *period)
    export_cli(
        db, exports / "by-week.csv", log, "--by", "feature,gender", "--period", "week", *period, "--format", "raw"
    )
    export_cli(db, exports / "ages.csv", log, "--by", "age_group", *period, "--lang", "en", "--compare", "previous")
    export_cli(db, exports / "countries-raw.csv", log, "--by", "country", *period, "--format", "raw",
               "--compare-from", "2025-07-01", "--compare-to", "2025-08-31")  # fmt: skip
    assert export_main(["--db", str(db), "--pack", "month", "--month", "2025-10", "--out", str(exports),
                        "--log", str(log)]) == 0  # fmt: skip
    return db, exports, log, hostile.markers


def planted(clean, tmp_path: Path, sql: list[str] | None = None) -> Path:
    """A copy of the clean store with `sql` run on it (a careless writer)."""
    db = tmp_path / "visitors.duckdb"
    shutil.copy(clean[0], db)
    if sql:
        with duckdb.connect(str(db)) as con:
            for statement in sql:
                con.execute(statement)
    return db


def failed(report, key: str) -> list[str]:
    (check,) = [c for c in report.checks if c.key == key]
    assert not check.passed, f"check {key} passed: {check.summary}"
    return [f"{f.where}: {f.what}" for f in check.findings]


def passed_checks(report) -> set[str]:
    return {c.key for c in report.checks if c.passed}


# --- the project's own output passes ------------------------------------------------------------


def test_the_projects_own_store_and_exports_pass(clean, tmp_path):
    db, exports, log, markers = clean
    report_path = tmp_path / "report" / "audit"
    done = audit_cli("--db", db, "--exports", exports, "--report", report_path, log=log)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    ptable_sha = hashlib.sha256((REPO / "contract" / "ptable_v1.csv").read_bytes()).hexdigest()
    assert lines[1] == (
        f"perturbation table v1 (ptable_v1.csv, sha256 {ptable_sha[:16]}…): D = 3, V = 2, threshold (min_cell) 10"
    )
    assert [line.split()[0] for line in lines[2:9]] == ["PASS"] * 7
    assert lines[9] == "verdict: PASS (all 7 checks)"
    data = json.loads((tmp_path / "report" / "audit.json").read_text(encoding="utf-8"))
    markdown = (tmp_path / "report" / "audit.md").read_text(encoding="utf-8")
    assert data["verdict"] == "PASS"
    assert data["store"]["sha256"] == hashlib.sha256(db.read_bytes()).hexdigest()
    assert data["store"]["sha256"] in markdown
    assert data["thresholds"]["k"] == 5 and "| k (class size" in markdown
    # the perturbation table every exported count was recomputed with, read through contract.ptable
    assert data["ptable"] == {
        "version": 1,
        "max_noise": 3,
        "variance": 2.0,
        "min_cell": 10,
        "csv": "ptable_v1.csv",
        "csv_sha256": ptable_sha,
    }
    assert f"| CSV SHA-256 | {ptable_sha} |" in markdown and "| D (maximum noise) | 3 |" in markdown
    # every export was checked, each with its hash: 4 CSVs and the pack's 9 tables (4 of the forms, and the
    # 5 traffic tables a store with an access log adds)
    checked = {Path(e["path"]).name: e["sha256"] for e in data["exports"]}
    assert len(checked) == 13
    assert checked["by-country.csv"] == hashlib.sha256((exports / "by-country.csv").read_bytes()).hexdigest()
    assert data["when"][:4].isdigit() and data["when"] in markdown
    # the planted identifiers of the raw files appear nowhere in what the audit wrote
    written = (done.stdout + done.stderr + markdown + json.dumps(data, ensure_ascii=False)).lower()
    assert not [m for m in markers if m.lower() in written]


def test_the_risk_figures_are_the_classes_of_the_store(clean):
    db = clean[0]
    report = run_audit(db, export_log=clean[2])
    risk = report.figures(RiskFigures)
    with duckdb.connect(str(db), read_only=True) as con:
        sizes = [
            size
            for (size,) in con.execute(
                "select sum(visits) from visit_counts "
                "group by country, gender, age_group, feature, date_trunc('month', event_date)"
            ).fetchall()
        ]
    records = sum(sizes)
    assert risk.k == 5
    assert risk.classes == len(sizes)
    assert risk.records == records
    assert risk.smallest_class == min(sizes)
    assert risk.unique_classes == sizes.count(1)
    assert risk.classes_below_k == sum(1 for s in sizes if s < 5)
    assert risk.records_below_k == sum(s for s in sizes if s < 5)
    assert risk.share_at_risk == pytest.approx(sum(s for s in sizes if s < 5) / records)
    assert risk.highest_risk == pytest.approx(1 / min(sizes))
    assert risk.average_risk == pytest.approx(len(sizes) / records)
    assert report.check(CheckKey.RISK).figures is risk and report.check(CheckKey.RISK).number == 5
    # the report files keep the labels they always had
    (labelled,) = [c["figures"] for c in json.loads(report.to_json())["checks"] if c["key"] == "risk"]
    assert labelled == {
        "classes": risk.classes,
        "records": risk.records,
        "smallest class": risk.smallest_class,
        "classes below k=5": risk.classes_below_k,
        "records in classes below k=5": risk.records_below_k,
        "unique classes (one record)": risk.unique_classes,
        "records at risk (prosecutor risk above 1/k), share": risk.share_at_risk,
        "highest prosecutor risk (1 / smallest class)": risk.highest_risk,
        "average prosecutor risk (classes / records)": risk.average_risk,
    }
    assert f"| records in classes below k=5 | {risk.records_below_k:,} |" in report.to_markdown()


def test_thresholds_from_config_make_the_risk_check_fail(clean, tmp_path):
    config = tmp_path / "strict.toml"
    config.write_text("[risk]\nk = 11\nmax_share_of_records_at_risk = 0.0\n", encoding="utf-8")
    report = run_audit(clean[0], export_log=clean[2], thresholds=load_thresholds(config))
    assert report.thresholds.k == 11
    findings = failed(report, "risk")
    assert any("share of records at risk" in f and "above the threshold 0.0000" in f for f in findings)
    done = audit_cli("--db", clean[0], "--config", config, log=clean[2])
    assert done.returncode == 1
    assert "FAIL  5. k-anonymity and re-identification risk (k = 11)" in done.stdout


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[risk]\nk = 1\n", "at least 2"),
        ('[risk]\nk = "five"\n', "k must be a whole number"),
        ('[risk]\nmax_average_risk = "high"\n', "max_average_risk must be a number"),
        ('[x]\nearliest_event_date = "2000-13-01"\n', "earliest_event_date is not a date"),
        ("[risk]\nkay = 5\n", r"unknown threshold\(s\): kay"),
        ("k = [", "TOML"),
    ],
)
def test_a_bad_config_cannot_run(clean, tmp_path, text, message):
    config = tmp_path / "bad.toml"
    config.write_text(text, encoding="utf-8")
    with pytest.raises(CannotAudit, match=message):
        load_thresholds(config)
    done = audit_cli("--db", clean[0], "--config", config, log=clean[2])
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith("audit cannot run: ")


# --- it cannot run ------------------------------------------------------------------------------


def test_it_cannot_run_without_a_store(tmp_path):
    done = audit_cli("--db", tmp_path / "missing.duckdb", log=tmp_path / "x.log")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.strip() == f"audit cannot run: {tmp_path / 'missing.duckdb'}: no such file"


def test_it_cannot_run_on_a_file_that_is_not_duckdb(tmp_path):
    junk = tmp_path / "junk.duckdb"
    junk.write_text(f"name,email\nHong,{EMAIL}\n", encoding="utf-8")
    done = audit_cli("--db", junk, log=tmp_path / "x.log")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.strip() == f"audit cannot run: {junk}: not a DuckDB database file"
    assert EMAIL not in done.stderr


def test_it_cannot_run_on_a_missing_exports_folder(clean, tmp_path):
    done = audit_cli("--db", clean[0], "--exports", tmp_path / "nowhere", log=clean[2])
    assert done.returncode == 2
    assert "not a folder" in done.stderr


# --- planted stores ------------------------------------------------------------------------------


def test_an_extra_email_column(clean, tmp_path):
    db = planted(
        clean,
        tmp_path,
        ["alter table visit_counts add column email varchar", f"update visit_counts set email = '{EMAIL}'"],
    )
    report = run_audit(db, export_log=tmp_path / "none.log")
    assert "visit_counts.email: a column not on the allowlist" in failed(report, "schema")
    assert any(
        f.startswith("visit_counts.email row 1") and "email h***@***.example" in f for f in failed(report, "patterns")
    )
    done = audit_cli("--db", db, "--report", tmp_path / "r", log=tmp_path / "none.log")
    assert done.returncode == 1
    assert "FAIL  1. Schema against the allowlist" in done.stdout
    assert done.stdout.splitlines()[-2].startswith("verdict: FAIL (")
    assert done.stdout.splitlines()[-1] == f"report: {tmp_path / 'r.md'} and {tmp_path / 'r.json'}"
    for text in (done.stdout, done.stderr, *(p.read_text(encoding="utf-8") for p in tmp_path.glob("r.*"))):
        assert EMAIL not in text and "gildong" not in text


def test_an_email_as_a_country(clean, tmp_path):
    db = planted(clean, tmp_path, [f"update visit_counts set country = '{EMAIL}' where rowid = 3"])
    report = run_audit(db, export_log=tmp_path / "none.log")
    domains = failed(report, "domains")
    assert any(f.startswith("visit_counts.country row 4 (1 rows): value outside the domain") for f in domains)
    assert any(f.startswith("visit_counts.country row 4") and "email" in f for f in failed(report, "patterns"))
    assert EMAIL not in report.to_json() and EMAIL not in report.to_markdown()
    # the per-batch counts no longer add up to the public table
    assert any("differ from the sum of the batches' counts" in f for f in domains)


def test_a_phone_number_as_a_feature(clean, tmp_path):
    db = planted(clean, tmp_path, [f"update batch_counts set feature = '{PHONE}' where rowid = 0"])
    report = run_audit(db, export_log=tmp_path / "none.log")
    assert any(f.startswith("batch_counts.feature row 1") for f in failed(report, "domains"))
    patterns = failed(report, "patterns")
    assert any(f.startswith("batch_counts.feature row 1 (1 rows): phone 0**-****-****") for f in patterns), patterns
    assert PHONE not in report.to_json()


def test_a_resident_registration_number_in_a_file_name(clean, tmp_path):
    db = planted(clean, tmp_path, [f"update batches set file_name = '{RRN}_visitors.csv' where batch_id = 2"])
    report = run_audit(db, export_log=tmp_path / "none.log")
    patterns = failed(report, "patterns")
    assert "batches.file_name row 2 (1 rows): kr rrn 9*****-******* (checksum valid)" in patterns, patterns
    assert RRN not in report.to_json() and RRN.replace("-", "") not in report.to_json()
    assert passed_checks(report) >= {"schema", "risk", "under_14"}


def test_a_date_in_a_file_name_is_counted_not_failed(clean, tmp_path):
    db = planted(clean, tmp_path, ["update batches set file_name = 'export-2025-10-01.csv' where batch_id = 1"])
    check = run_audit(db, export_log=tmp_path / "none.log").check(CheckKey.PATTERNS)
    assert check.passed
    assert isinstance(check.figures, PatternFigures)
    assert check.figures.dates_in_file_names == 1 and check.figures.found == {}
    assert check.figures.labelled()["dates in file names (not failed)"] == 1


def test_raw_rows_in_a_dropped_staging_table(clean, tmp_path):
    rows = ", ".join(
        f"('zq.staged{i:04d}xk@privacy-test.example', '010-5555-{i:04d}', 'Kim Staged{i}')" for i in range(3000)
    )
    db = planted(
        clean,
        tmp_path,
        [
            f"create table staging as select * from (values {rows}) raw(email, phone, name)",
            "checkpoint",
            "create table later as select range as n from range(200000)",
            "checkpoint",
            "drop table staging",
            "drop table later",
            "checkpoint",
        ],
    )
    report = run_audit(db, export_log=tmp_path / "none.log")
    found = failed(report, "bytes")
    # DuckDB compresses the strings it keeps (FSST): the freed blocks give the dropped table away
    assert any("free block(s)" in f and "dropped table" in f for f in found), found
    assert passed_checks(report) >= {"schema", "domains", "patterns"}
    (check,) = [c for c in report.checks if c.key == "bytes"]
    assert any("FSST" in note and "free block" in note for note in check.notes)
    assert "zq.staged" not in report.to_json() and "010-5555-" not in report.to_json()


def test_raw_rows_in_the_write_ahead_log(clean, tmp_path):
    db = planted(clean, tmp_path)
    # a writer that died before its checkpoint: the rows are in the WAL, uncompressed
    script = (
        "import duckdb, os, sys\n"
        "con = duckdb.connect(sys.argv[1])\n"
        "con.execute('set checkpoint_threshold = \\'1GB\\'')\n"
        f"con.execute(\"create table staging as select 'zq.wal' || range || 'xk@privacy-test.example' as email, "
        f"'{PHONE}' as phone from range(50)\")\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", script, str(db)], check=True, timeout=60)
    assert Path(f"{db}.wal").is_file()
    report = run_audit(db, export_log=tmp_path / "none.log")
    found = failed(report, "bytes")
    assert any(f.startswith("visitors.duckdb.wal byte ") and ": email z***@***.example" in f for f in found), found
    assert any(f.startswith("visitors.duckdb.wal byte ") and ": phone 0**-****-****" in f for f in found)
    assert report.wal is not None and report.wal.sha256 == hashlib.sha256(Path(f"{db}.wal").read_bytes()).hexdigest()
    assert "table staging: a table not on the allowlist (2 columns)" in failed(report, "schema")


def test_a_guardian_column_and_a_split_under_14_band(clean, tmp_path):
    db = planted(
        clean,
        tmp_path,
        [
            "create table guardians (guardian_email varchar)",
            "update visit_counts set age_group = '0-6' where rowid in (select rowid from visit_counts where age_group = '0-13' limit 1)",
        ],
    )
    report = run_audit(db, export_log=tmp_path / "none.log")
    under = failed(report, "under_14")
    assert "guardians: a guardian field: guardians" in under
    assert "guardians: a guardian field: guardian_email" in under
    assert any(f.startswith("visit_counts.age_group row") and "the band 0-6 splits 0-13" in f for f in under)
    assert any("value outside the domain" in f for f in failed(report, "domains"))


@pytest.mark.parametrize(
    ("sql", "finding"),
    [
        (
            "update visit_counts set key_sum = 256 * visits where rowid = 4",
            "visit_counts.key_sum row 5 (1 rows): a key sum that is empty or outside 0 to 255 x visits",
        ),
        (
            "update batch_counts set key_sum = -1 where rowid = 0",
            "batch_counts.key_sum row 1 (1 rows): a key sum that is empty or outside 0 to 255 x visits",
        ),
        (
            "update visit_counts set key_sum = null where rowid = 2",
            "visit_counts.key_sum row 3 (1 rows): a key sum that is empty or outside 0 to 255 x visits",
        ),
        (
            "update batches set rejected_key_sum = 255 * rows_rejected + 1 where batch_id = 2",
            "batches.rejected_key_sum row 2 (1 rows): a key sum that is empty or outside 0 to 255 x rows rejected",
        ),
        # in its domain, but no longer the sum of the batches' key sums: removing a batch would not subtract exactly
        (
            "update visit_counts set key_sum = key_sum + 1 where rowid = (select min(rowid) from visit_counts "
            "where key_sum < 255 * visits)",
            "visit_counts: 1 cells differ from the sum of the batches' key sums",
        ),
    ],
)
def test_a_key_sum_outside_its_domain(clean, tmp_path, sql, finding):
    db = planted(clean, tmp_path, [sql])
    report = run_audit(db, export_log=tmp_path / "none.log")
    assert finding in failed(report, "domains")
    assert passed_checks(report) >= {"schema", "patterns", "risk", "under_14"}


def test_the_key_sums_are_on_the_allowlist_of_the_contract(clean, tmp_path):
    report = run_audit(clean[0], export_log=tmp_path / "none.log")
    assert report.check(CheckKey.SCHEMA).passed and report.check(CheckKey.DOMAINS).passed
    db = planted(clean, tmp_path, ["alter table visit_counts drop column key_sum"])
    report = run_audit(db, export_log=clean[2])
    assert "visit_counts.key_sum: missing" in failed(report, "schema")
    # the other domains are still checked without it; the exports cannot be recomputed, and say so
    assert report.check(CheckKey.DOMAINS).passed
    assert "visit_counts: the exports cannot be recomputed: the table or one of its columns is missing" in failed(
        report, "exports"
    )
    assert report.figures(ExportFigures).files_recomputed == 0


LOG_BATCH = 4  # the access log's batch in the clean store


def test_the_page_view_tables_are_checked_and_pass(clean, tmp_path):
    report = run_audit(clean[0], export_log=tmp_path / "none.log")
    assert report.passed, report.verdict_lines()
    with duckdb.connect(str(clean[0]), read_only=True) as con:
        assert con.execute("select count(*) from page_views").fetchone()[0] > 0
        assert con.execute("select file_format, rows_read > rows_loaded + rows_rejected from batches where batch_id = ?",
                           [LOG_BATCH]).fetchone() == ("access_log.gz", True)  # fmt: skip
    # the domains of both page view tables, their counts, key sums, sums and batch ids, besides the form exports'
    assert report.figures(DomainFigures).columns_checked >= 2 * 12 + 4 + 2


def test_a_store_from_before_the_access_logs_passes(clean, tmp_path):
    db = planted(
        clean,
        tmp_path,
        [
            "drop table page_views",
            "drop table page_view_batch_counts",
            f"delete from batches where batch_id = {LOG_BATCH}",
            "checkpoint",
        ],
    )
    # a store written without the tables: as the ETL of commit 82b38af wrote it, no free block
    rebuilt = tmp_path / "before.duckdb"
    with duckdb.connect(str(rebuilt)) as con:
        con.execute("attach ? as old (read_only)", [str(db)])
        for table in ("visit_counts", "batch_counts", "batches"):
            con.execute(f"create table {table} as select * from old.{table}")
    report = run_audit(rebuilt, export_log=tmp_path / "none.log")
    assert report.passed, report.verdict_lines()
    # one of the two alone is a store half written
    (tmp_path / "half").mkdir()
    half = planted(clean, tmp_path / "half", ["drop table page_views"])
    assert "table page_views: missing" in failed(run_audit(half, export_log=tmp_path / "none.log"), "schema")


@pytest.mark.parametrize(
    ("sql", "finding"),
    [
        (
            "update page_views set step = 'click' where rowid = 0",
            "page_views.step row 1 (1 rows): value outside the domain",
        ),
        (
            "update page_view_batch_counts set device = 'iPhone' where rowid = 1",
            "page_view_batch_counts.device row 2 (1 rows): value outside the domain",
        ),
        ("update page_views set feature = null where rowid = 2", "page_views.feature row 3 (1 rows): empty (NULL)"),
        (
            "update page_views set country = 'XX' where rowid = 0",
            "page_views.country row 1 (1 rows): value outside the domain",
        ),
        (
            "update page_views set event_date = date '2031-01-01' where rowid = 0",
            "page_views.event_date row 1 (1 rows): empty, or outside",
        ),
        (
            "update page_view_batch_counts set views = 0, views_key_sum = 0, visitors = 0, visitors_key_sum = 0 "
            "where rowid = 0",
            "page_view_batch_counts.views row 1 (1 rows): a count that is empty or below 1",
        ),
        (
            "update page_views set visitors = views + 1, visitors_key_sum = 0 where rowid = 0",
            "page_views.visitors row 1 (1 rows): more visitors than views",
        ),
        (
            "update page_views set views_key_sum = 256 * views where rowid = 0",
            "page_views.views_key_sum row 1 (1 rows): a key sum that is empty or outside 0 to 255 x views",
        ),
        (
            "update page_view_batch_counts set visitors_key_sum = -1 where rowid = 0",
            "page_view_batch_counts.visitors_key_sum row 1 (1 rows): a key sum that is empty or outside 0 to 255 x "
            "visitors",
        ),
        # in their domains, but no longer the sums of the batches
        (
            "update page_views set views = views + 1 where rowid = 0",
            "page_views: 1 cells differ from the sum of the batches' views",
        ),
        (
            "update page_views set visitors_key_sum = visitors_key_sum - 1 where visitors_key_sum > 0 "
            "and rowid = (select min(rowid) from page_views where visitors_key_sum > 0)",
            "page_views: 1 cells differ from the sum of the batches' visitor key sums",
        ),
        (
            "delete from page_view_batch_counts where rowid = 0",
            "page_views: 1 cells differ from the sum of the batches' views",
        ),
        # counts of a batch that is no access log, or of no batch at all
        (
            "update page_view_batch_counts set batch_id = 1 where rowid = 0",
            "page_view_batch_counts.batch_id row 1 (1 rows): batch 1 is not a batch of access_log or access_log.gz "
            "in the batch log",
        ),
        (
            f"update batches set batch_id = 99 where batch_id = {LOG_BATCH}",
            f"batch {LOG_BATCH} is not a batch of access_log or access_log.gz in the batch log",
        ),
        (
            f"update batch_counts set batch_id = {LOG_BATCH} where rowid = 0",
            f"batch {LOG_BATCH} is not a batch of csv or csv.gz or jsonl or jsonl.gz in the batch log",
        ),
        (
            f"update batches set rows_read = rows_loaded + rows_rejected - 1 where batch_id = {LOG_BATCH}",
            f"batches row {LOG_BATCH}: rows read is less than rows loaded + rows rejected",
        ),
    ],
)
def test_a_page_view_table_outside_its_domain(clean, tmp_path, sql, finding):
    db = planted(clean, tmp_path, [sql])
    report = run_audit(db, export_log=tmp_path / "none.log")
    findings = failed(report, "domains")
    assert any(finding in f for f in findings), findings
    assert passed_checks(report) >= {"schema", "risk", "under_14"}


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("::ffff:203.0.113.7", "ip"),
        ("2001:db8:17::2a", "ip"),
        ("/coupons?email=hong.gildong.zq%40example.co.kr", "email"),
        ("https://www.gangnam-medical.example/coupons?name=Hong+Gildong", "url"),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15", "user_agent"),
    ],
)
def test_a_log_shaped_identifier_in_a_page_view_table_is_found_in_its_values_and_bytes(clean, tmp_path, value, kind):
    db = planted(clean, tmp_path, [f"update page_view_batch_counts set device = '{value}' where rowid = 0"])
    report = run_audit(db, export_log=tmp_path / "none.log")
    assert any(
        f.startswith("page_view_batch_counts.device row 1 (1 rows): " + kind.replace("_", " "))
        for f in failed(report, "patterns")
    ), failed(report, "patterns")
    assert any(f.startswith("visitors.duckdb byte ") and kind.replace("_", " ") in f for f in failed(report, "bytes"))
    assert value not in report.to_json() and value not in report.to_markdown()


def test_a_view_and_a_macro_are_not_on_the_allowlist(clean, tmp_path):
    db = planted(
        clean, tmp_path, ["create view people as select 1 as x", "create macro leak(x) as x || '@example.com'"]
    )
    schema = failed(run_audit(db, export_log=tmp_path / "none.log"), "schema")
    assert "view people: a view not on the allowlist" in schema
    assert "macro leak: a macro not on the allowlist" in schema


# --- planted exports ----------------------------------------------------------------------------


def copy_exports(clean, tmp_path: Path) -> tuple[Path, Path]:
    exports, log = tmp_path / "exports", tmp_path / "exports.log"
    shutil.copytree(clean[1], exports)
    shutil.copy(clean[2], log)
    return exports, log


def rewrite(path: Path, change) -> list[list[str]]:
    """Rewrite an exported CSV (Excel flavour keeps its BOM and CRLF) with `change(rows)` applied."""
    raw = path.read_bytes()
    excel = raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    change(rows)
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n" if excel else "\n").writerows(rows)
    path.write_bytes(out.getvalue().encode("utf-8-sig" if excel else "utf-8"))
    return rows


def relog(log: Path, path: Path) -> None:
    """Point the log line of `path` at its new bytes: the file is then as exported, only the rules can catch it."""
    entries = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    for entry in entries:
        if entry["file"] == path.name:
            entry["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    log.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries), encoding="utf-8")


def test_an_export_with_a_3(clean, tmp_path):
    exports, log = copy_exports(clean, tmp_path)
    target = exports / "by-country.csv"

    def plant(rows):
        row = next(i for i, r in enumerate(rows[1:], 1) if r[-1].isdigit() and int(r[-1]) >= 10)
        rows[row][-1] = "3"

    rewrite(target, plant)
    relog(log, target)
    findings = failed(run_audit(clean[0], exports, log), "exports")
    assert any(f.startswith(f"{target} row ") and "a count from 1 to 9 is shown" in f for f in findings), findings


def true_counts(db: Path, by: str, start: date = FIRST, end: date = LAST) -> dict[tuple, int]:
    """The store's true counts by `by` in [start, end], read here with DuckDB: what the exports were made from."""
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            f"select {by}, sum(visits) from visit_counts where event_date between ? and ? group by all", [start, end]
        ).fetchall()
    return {tuple(row[:-1]): int(row[-1]) for row in rows}


def test_a_lone_suppressed_cell_under_a_shown_total_is_no_finding_any_more(clean, tmp_path):
    """Complementary suppression is gone: with perturbed counts the parts need not add up to the total."""
    findings = [f"{where}: {what}" for where, what in check_csv((clean[1] / "ages.csv").read_bytes(), 10)]
    assert findings == []
    assert check_csv(b"country,feature,visits\nKR,coupon,<10\nKR,free_estimate,40\nJP,coupon,30\n", 10) == []


def test_an_export_with_a_count_one_more_than_published(clean, tmp_path):
    exports, log = copy_exports(clean, tmp_path)
    target = exports / "by-week.csv"
    planted_at = {}

    def plant(rows):
        # raw: event_week, feature, gender, visits, suppressed
        assert rows[0][3:5] == ["visits", "suppressed"]
        number = next(i for i, r in enumerate(rows[1:], 1) if r[4] == "false" and int(r[3]) >= 20)
        rows[number][3] = str(int(rows[number][3]) + 1)
        planted_at["row"] = number + 1

    rewrite(target, plant)
    relog(log, target)
    findings = [f for f in failed(run_audit(clean[0], exports, log), "exports") if f.startswith(str(target))]
    # the one cell, and nothing else of the file
    assert len(findings) == 1, findings
    assert findings[0].startswith(f"{target} row {planted_at['row']} visits: published ")
    assert "the store's cells and ptable v1 give " in findings[0]


def test_an_export_with_a_true_count_where_the_published_one_differs(clean, tmp_path):
    exports, log = copy_exports(clean, tmp_path)
    target = exports / "countries-raw.csv"
    truth = true_counts(clean[0], "country")
    planted_at = {}

    def plant(rows):
        # raw: country_code, visits, suppressed, comparison_visits, comparison_suppressed, change
        assert rows[0][:3] == ["country_code", "visits", "suppressed"]
        number = next(i for i, r in enumerate(rows[1:], 1) if r[2] == "false" and int(r[1]) != truth[(r[0],)] >= 10)
        rows[number][1] = str(truth[(rows[number][0],)])
        planted_at["row"] = number + 1

    rewrite(target, plant)
    relog(log, target)
    findings = failed(run_audit(clean[0], exports, log), "exports")
    row = planted_at["row"]
    assert any(
        f.startswith(f"{target} row {row} visits: published ") and "(the true count, unperturbed)" in f
        for f in findings
    ), findings


def test_an_export_with_a_small_mark_where_the_true_count_is_not_small(clean, tmp_path):
    from dashboard.i18n import t

    exports, log = copy_exports(clean, tmp_path)
    target = exports / "by-country.csv"
    # the smallest true count of the table that is published (12 on this store, or near it)
    true, (country, feature) = min(
        (count, key) for key, count in true_counts(clean[0], "country, feature").items() if count >= 10
    )
    assert true < 20
    label = [country_name(country, "ko"), t(feature, "ko")]
    planted_at = {}

    def plant(rows):
        number = next(i for i, r in enumerate(rows) if r[:2] == label)
        assert rows[number][2].isdigit()
        rows[number][2] = "<10"
        planted_at["row"] = number + 1

    rewrite(target, plant)
    relog(log, target)
    findings = failed(run_audit(clean[0], exports, log), "exports")
    assert any(
        f.startswith(
            f"{target} row {planted_at['row']} 신청 건수: suppressed, but the store's cells and ptable v1 give "
        )
        for f in findings
    ), findings
    # the finding names the cell and the count to publish: the true count perturbed by its cell key
    with duckdb.connect(str(clean[0]), read_only=True) as con:
        (key_sum,) = con.execute(
            "select sum(key_sum) from visit_counts where event_date between ? and ? and country = ? and feature = ?",
            [FIRST, LAST, country, feature],
        ).fetchone()
    to_publish = perturb(true, key_sum % 256)
    assert abs(to_publish - true) <= 3
    assert (
        f"{target} row {planted_at['row']} 신청 건수: suppressed, but the store's cells and ptable v1 give {to_publish}"
        in findings
    )


def test_an_export_whose_logged_filters_differ_from_its_content(clean, tmp_path):
    exports, log = copy_exports(clean, tmp_path)
    entries = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    for entry in entries:
        if entry["file"] == "by-country.csv":
            entry["selection"]["filters"]["countries"] = ["KR", "JP"]
            entry["selection"]["filters"]["country_mode"] = "exclude"
        if entry["file"] == "ages.csv":
            entry["selection"]["filters"]["genders"] = ["female"]
        if entry["file"] == "by-week.csv":
            entry["selection"]["filters"]["genders"] = ["nobody"]
    log.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries), encoding="utf-8")
    findings = failed(run_audit(clean[0], exports, log), "exports")
    # all but two countries: two rows fewer per feature than the file has
    by_country = [f for f in findings if f.startswith(f"{exports / 'by-country.csv'}: ")]
    assert len(by_country) == 1 and "rows; the store's cells under its logged selection give " in by_country[0]
    # women only: the same rows, other counts (and the total)
    ages = [f for f in findings if f.startswith(f"{exports / 'ages.csv'} row ")]
    assert any(" Submissions: published " in f for f in ages) and any(
        f.startswith(f"{exports / 'ages.csv'} row 11 ") for f in ages
    )
    assert (
        f"{exports / 'by-week.csv'}: its logged selection cannot be read: the filter 'genders' holds a value outside "
        "its domain" in findings
    )
    assert all(str(exports / "countries-raw.csv") not in f for f in findings)


def test_a_logged_export_without_an_author_fails(clean, tmp_path):
    exports, log = copy_exports(clean, tmp_path)
    entries = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert all(entry["author"].startswith("cli:") for entry in entries)  # the export command names its user
    entries[1].pop("author")
    entries[2]["author"] = "  "
    log.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries), encoding="utf-8")
    findings = failed(run_audit(clean[0], exports, log), "exports")
    no_author = "names no author: every export must say who made it"
    assert [f for f in findings if no_author in f] == [f"exports.log line {n}: {no_author}" for n in (2, 3)]


def test_an_export_whose_bytes_do_not_match_its_log(clean, tmp_path):
    exports, log = copy_exports(clean, tmp_path)
    target = exports / "by-week.csv"
    target.write_bytes(target.read_bytes().replace(b"\n", b"\n", 1) + b"\n")
    findings = failed(run_audit(clean[0], exports, log), "exports")
    assert f"{target}: its SHA-256 does not match its export log line: changed after export" in findings


def test_an_export_missing_from_the_log_and_an_unescaped_formula(clean, tmp_path):
    exports, log = copy_exports(clean, tmp_path)
    (exports / "hand-made.csv").write_text('country,visits\n=HYPERLINK("x"),120\n', encoding="utf-8")
    findings = failed(run_audit(clean[0], exports, log), "exports")
    assert f"{exports / 'hand-made.csv'}: not in the export log: every export must be logged" in findings
    assert f"{exports / 'hand-made.csv'} row 2 column 1: a cell starting with '=' is not escaped" in findings


def test_a_changed_table_inside_a_report_pack(clean, tmp_path):
    exports, log = copy_exports(clean, tmp_path)
    (pack,) = exports.glob("*.zip")
    import zipfile

    with zipfile.ZipFile(pack) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    name = next(n for n in members if "country" in n)
    members[name] = members[name].replace(b"\r\n", b"\r\n\r\n", 1)
    with zipfile.ZipFile(pack, "w") as archive:
        for member, content in members.items():
            archive.writestr(member, content)
    findings = failed(run_audit(clean[0], exports, log), "exports")
    assert f"{pack}/{name}: its SHA-256 does not match its export log line: changed after export" in findings


def test_logged_files_are_found_by_their_path_without_a_folder(clean):
    report = run_audit(clean[0], export_log=clean[2])
    check = report.check(CheckKey.EXPORTS)
    assert check.passed, check.findings
    # the 4 CSVs and the pack the command line wrote (its 4 tables of the forms and 5 of the traffic)
    assert check.figures == report.figures(ExportFigures)
    assert check.figures.files_checked == 13
    assert check.figures.files_recomputed == 13
    assert check.figures.logged_files_not_found == 0


@pytest.mark.parametrize(
    ("text", "finding"),
    [
        ("country,visits\nKR,5\nJP,120\nTotal,125\n", "row 2 visits: a count from 1 to 9 is shown"),
        ("country,visits\nKR,<5\nJP,120\n", "row 2 visits: the mark <5 shows a count below 10"),
        ("country,visits,suppressed\nKR,12,true\n", "row 2 visits: a suppressed cell that holds a count"),
        ("country,visits\n@SUM(A1),12\n", "row 2 column 1: a cell starting with '@' is not escaped"),
        (f"country,visits\n{EMAIL},12\n", "row 2 column 1: email h***@***.example"),
    ],
)
def test_export_rules_on_hand_made_files(text, finding):
    assert finding in [f"{where}: {what}" for where, what in check_csv(text.encode(), 10)]


@pytest.mark.parametrize(
    "text",
    [
        # suppressed cells, zeros, negative changes, escaped text, dates: all fine
        "country,feature,visits\nKR,coupon,<10\nKR,free_estimate,12\nJP,coupon,10\nJP,free_estimate,<10\n",
        "country,visits\nKR,<10\nJP,0\nTH,<10\nCN,120\n",
        "event_month,feature,visits,suppressed,comparison_event_month,comparison_visits,comparison_suppressed,change\n"
        "2025-01-01,coupon,45,false,2024-11-01,50,false,-0.1\n",
        "label,visits\n'=1+1,12\n",
        "월 (Asia/Seoul),서비스,신청 건수\r\n2025-01-01,쿠폰,30\r\n2025-02-01,쿠폰,0\r\n합계,,30\r\n",
    ],
)
def test_export_rules_near_misses(text):
    assert check_csv(text.encode("utf-8-sig"), 10) == []


# what each language's page says for the risk cards and a check's title (dashboard/i18n.py)
PAGE_TEXT = {
    "en": {
        "title": "Privacy audit",
        "failed": "Some checks failed",
        "check_3": "**3. Pattern scan of every text value**",
        "cards": ["Smallest class", "Share of records in classes below k", "Average risk", "Highest risk"],
        "records_below_k": "Records in classes below k",
    },
    "ko": {
        "title": "개인정보 감사",
        "failed": "통과하지 못한 검사가 있습니다",
        "check_3": "**3. 모든 텍스트 값의 식별자 패턴 검사**",
        "cards": ["가장 작은 집단", "k 미만 집단의 기록 비율", "평균 위험", "최고 위험"],
        "records_below_k": "k 미만 집단의 기록",
    },
}


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_audit_page_shows_the_verdict_and_findings(monkeypatch, clean, tmp_path, lang):
    from streamlit.testing.v1 import AppTest

    from dashboard.i18n import TEXT

    db = planted(clean, tmp_path, [f"update batches set file_name = '{RRN}_visitors.csv' where batch_id = 2"])
    monkeypatch.setenv("GANGNAM_DB", str(db))
    monkeypatch.setenv("GANGNAM_EXPORT_LOG", str(clean[2]))
    at = AppTest.from_file(str(REPO / "dashboard" / "app.py"), default_timeout=120)
    at.query_params["lang"] = lang
    at.switch_page("views/audit.py").run()
    assert not at.exception, [e.value for e in at.exception]
    said = PAGE_TEXT[lang]
    assert at.title[0].value == said["title"]
    assert [e.value for e in at.error] == [said["failed"]]
    texts = " ".join(m.value for m in at.markdown)
    assert said["check_3"] in texts
    # the pattern scan and the byte scan (the file name is in the file's bytes too) fail, the rest pass
    assert texts.count(":red-badge[") == 2 and texts.count(":green-badge[") == 5, texts
    tables = " ".join(frame.value.to_csv() for frame in at.dataframe)
    page = tables + texts
    assert RRN not in page and RRN.replace("-", "") not in page
    assert "kr rrn 9" in tables
    # the batch log on the page does not show it either
    assert "[kr_rrn]_visitors.csv" in tables
    # the risk cards: the typed figures of the same audit, under the page's own labels
    risk = run_audit(db, export_log=clean[2]).figures(RiskFigures)
    assert [m.label for m in at.metric] == said["cards"]
    assert [m.value for m in at.metric] == [
        f"{risk.smallest_class:,}",
        f"{risk.share_at_risk:.1%}",
        f"{risk.average_risk:.3f}",
        f"{risk.highest_risk:.3f}",
    ]
    # the figures tables are labelled by the page too, never with the report's English labels
    assert f"{said['records_below_k']},{risk.records_below_k:,}" in tables.replace('"', "")
    assert "records in classes below k=" not in tables
    # the perturbation table, under the page's own labels
    ptable = run_audit(db, export_log=clean[2]).ptable
    for label, value in (("max_noise", "3"), ("variance", "2"), ("min_cell", "10"), ("csv_sha256", ptable.csv_sha256)):
        assert f"{TEXT[f'audit_ptable_{label}'][lang]},{value}" in tables.replace('"', "")
    assert [b.label for b in at.download_button] == ["Markdown", "JSON"]


def test_the_page_has_a_label_for_every_check_and_figure():
    from dashboard.i18n import TEXT

    figures = (ByteFigures, DomainFigures, ExportFigures, PatternFigures, RiskFigures, SchemaFigures, Under14Figures)
    keys = [f"audit_{key.value}" for key in CheckKey]
    keys += [f"audit_figure_{item.name}" for kind in figures for item in dataclasses.fields(kind)]
    keys += [f"audit_ptable_{item.name}" for item in dataclasses.fields(PtableInUse)]
    assert [key for key in keys if set(TEXT.get(key, {})) != {"ko", "en"}] == []
    assert [key.number for key in CheckKey] == [1, 2, 3, 4, 5, 6, 7]


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def test_the_audit_depends_on_the_contract_and_duckdb_only():
    """Independent by design: the audit imports no code of the writer or the reader, and they none of its."""
    allowed = {"audit", "contract", "duckdb", *sys.stdlib_module_names}
    for path in sorted((REPO / "audit").rglob("*.py")):
        outside = {name for name in _imports(path) if name.split(".")[0] not in allowed}
        assert not outside, f"{path.relative_to(REPO)} imports {sorted(outside)}"
    for package in ("etl", "dashboard"):
        for path in sorted((REPO / package).rglob("*.py")):
            used = {name for name in _imports(path) if name.split(".")[0] == "audit"}
            # the dashboard may use the audit's public API, nothing deeper; the ETL not at all
            assert used <= ({"audit"} if package == "dashboard" else set()), f"{path.relative_to(REPO)}: {used}"


def test_the_old_command_says_where_the_audit_went(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "etl", "audit", "--db", str(tmp_path / "x.duckdb")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("the privacy audit is its own command now: python -m audit --db PATH")


@pytest.mark.heavy
def test_the_demo_data_of_make_run_passes_the_audit(tmp_path):
    """`make run`'s demo store, made as the Makefile makes it, passes every check with the default thresholds.

    The risk check depends on how dense the data is: at 200,000 submissions over three years a quarter of
    the records fell in classes below k, and a first look at the Privacy audit page was red.
    """
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    rows = int(re.search(r"^DEMO_ROWS \?= (\d+)$", makefile, re.MULTILINE).group(1))
    assert "end=$$(TZ=Asia/Seoul date +%F)" in makefile and "--end $$end" in makefile
    assert 'since=$$(TZ=Asia/Seoul date -d "$$end -179 days" +%F)' in makefile and "--since $$since" in makefile
    raw, log, db = tmp_path / "demo.csv", tmp_path / "access.log.gz", tmp_path / "visitors.duckdb"
    generate(raw, rows, end=korea_today())
    generate_log(log, rows, end=korea_today(), since=korea_today() - timedelta(days=179))
    load([log, raw], db)
    report = run_audit(db, export_log=tmp_path / "none.log")
    assert report.passed, report.verdict_lines()
