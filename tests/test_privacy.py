"""The adversarial test: personal data hidden anywhere in a raw export never comes out of the ETL.

Hostile exports carry a unique marker in every personal column, in extra
columns, in the wrong columns, in rows rejected for each reason, in a header
and in a file that is refused. The real CLI loads them; then no marker may be
found in the store file, its tables, any file left behind, stdout, stderr or
the reject report, and the counts must equal the truth computed here in plain
Python.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import random
import re
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import pytest
from conftest import RAW_HEADER, REJECTS_HEADER, examples, read_rejects, run_etl, store_rows, write_bytes
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from etl.load import load

# Every marker holds a token like ZQNAME007XK, so a scan also finds a marker cut in pieces.
TOKEN = re.compile(rb"zq[a-z]+\d{3,}xk", re.IGNORECASE)
TOKEN_UTF16 = re.compile(rb"z\x00q\x00(?:[a-z]\x00)+(?:\d\x00){3,}x\x00k\x00", re.IGNORECASE)
EXTRA_COLUMNS = ("phone", "passport_no", "memo", "coupon_code")

# (raw spelling, Korea date) of valid submission times
TIMES = [
    ("2025-03-04T14:22:05+09:00", date(2025, 3, 4)),
    ("2025-03-31T23:30:00Z", date(2025, 4, 1)),
    ("2025-03-31T23:30:00", date(2025, 3, 31)),
    ("2025-03-31T23:30:00+08:00", date(2025, 4, 1)),
    ("2025-03-31T10:30:00-05:00", date(2025, 4, 1)),
    ("2025-03-05 09:15:00", date(2025, 3, 5)),
]
FEATURES = {
    "free_estimate": ["free_estimate", "Free Estimate", "무료견적", " FREE ESTIMATE "],
    "self_diagnosis": ["self_diagnosis", "Self-Diagnosis", "자가진단"],
    "coupon": ["coupon", "Coupon", "쿠폰", "COUPON "],
}
GENDERS = {
    "female": ["F", "female", "여", "여성"],
    "male": ["M", "Male", "남", "남성"],
    "other": ["other"],
    "unknown": [""],
}
COUNTRIES = {
    "CN": ["CN", "CHN", "China", "중국"],
    "US": ["US", "USA", "United States", "미국"],
    "RU": ["Russia", "러시아", "RUS"],
    "VN": ["Vietnam", "베트남", "VN"],
    "MN": ["몽골", "Mongolia"],
    "unknown": ["", "Narnia"],
}
DOB_FORMATS = ["%Y-%m-%d", "%Y.%m.%d", "%Y/%m/%d"]


def age_group(born: date, on: date) -> str:
    """The age band of the contract, computed independently of the ETL."""
    age = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    if age < 14:
        return "0-13"
    if age < 20:
        return "14-19"
    return "70+" if age >= 70 else f"{age // 10 * 10}-{age // 10 * 10 + 9}"


@dataclass
class Export:
    path: Path
    truth: Counter = field(default_factory=Counter)  # (date, feature, country, gender, age_group) -> visits
    rejects: list[tuple[int, str]] = field(default_factory=list)


class Hostile:
    """Builds hostile raw exports and remembers every marker it hides in them."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.markers: list[str] = []
        self.serial = 0

    def mark(self, template: str) -> str:
        self.serial += 1
        n = self.serial
        marker = template.format(n=n, hi=n // 256, lo=n % 256, h=n % 100)
        self.markers.append(marker)
        return marker

    def replace(self, row: dict[str, str], column: str, template: str) -> dict[str, str]:
        """The row with one column's marker replaced by a new one (the old one is never written)."""
        self.markers.remove(row[column])
        return {**row, column: self.mark(template)}

    def personal(self) -> dict[str, str]:
        return {
            "submission_id": self.mark("sub-ZQSUB{n:03d}XK"),
            "name": self.mark("Zq Name{n:03d}xk 김마커"),
            "email": self.mark("zq.mail{n:03d}xk@privacy-test.example"),
            "guardian_name": self.mark("ZqGuard{n:03d}Xk Park"),
            "guardian_email": self.mark("zqgmail{n:03d}xk@privacy-test.example"),
            "guardian_phone": self.mark("+82-10-55{h:02d}-{n:04d}"),
            "ip_address": self.mark("203.0.{hi}.{lo}" if self.serial % 2 else "2001:db8::{n:x}:beef"),
            "user_agent": self.mark("Mozilla/5.0 (ZQUA{n:03d}XK; Linux x86_64)"),
            "message": self.mark('안녕하세요 ZQMSG{n:03d}XK, "call" 010-{n:04d}-7788\n저는 마커{n:03d}입니다\r\nbye'),
            "phone": self.mark("010-{n:04d}-9911"),
            "passport_no": self.mark("M{n:03d}ZQPAS{n:03d}XK"),
            "memo": self.mark("ZQMEMO{n:03d}XK vip, 수술 상담"),
            "coupon_code": self.mark("CPN-ZQCPN{n:03d}XK"),
        }

    def good(self, export: Export, *, wrong_columns: bool = False) -> dict[str, str]:
        """A row that loads; its cell is added to the export's truth."""
        raw_time, day = self.rng.choice(TIMES)
        feature = self.rng.choice(list(FEATURES))
        gender = self.rng.choice(list(GENDERS))
        country = self.rng.choice(list(COUNTRIES))
        born = date(self.rng.randint(1930, 2020), self.rng.randint(1, 12), self.rng.randint(1, 28))
        row = {
            **self.personal(),
            "submitted_at": raw_time,
            "feature": self.rng.choice(FEATURES[feature]),
            "gender": self.rng.choice(GENDERS[gender]),
            "residing_country": self.rng.choice(COUNTRIES[country]),
            "date_of_birth": born.strftime(self.rng.choice(DOB_FORMATS)),
        }
        band = age_group(born, day) if born <= day else "unknown"
        if wrong_columns:
            # personal data typed into the kept fields: kept as unknown, never as itself
            row["gender"] = self.mark("zq.wrong{n:03d}xk@privacy-test.example")
            row["residing_country"] = self.mark("Quillibert ZqCountry{n:03d}xk Farnsworth")
            row["date_of_birth"] = self.mark("19{n:03d}-ZQDOB{n:03d}XK")
            gender, country, band = "unknown", "unknown", "unknown"
        export.truth[(day.isoformat(), feature, country, gender, band)] += 1
        return row

    def bad_time(self) -> dict[str, str]:
        return {
            **self.personal(),
            "submitted_at": self.mark("2025-03-04T14:22:05+09:00 ZQTS{n:03d}XK"),
            "feature": "coupon",
        }

    def bad_feature(self) -> dict[str, str]:
        return {**self.personal(), "submitted_at": TIMES[0][0], "feature": self.mark("+82-10-24{n:02d}-1357")}

    def csv_export(self, path: Path, header_markers: bool, rows_good: int = 24) -> Export:
        """A CSV export with a row rejected for each reason (a broken quote refuses a file: see the refused file below)."""
        export = Export(path)
        header = [*RAW_HEADER, *EXTRA_COLUMNS]
        if header_markers:
            header += [self.mark("zq.header{n:03d}xk@privacy-test.example"), self.mark("ZQHDR{n:03d}XK")]

        def line(row: dict[str, str], width: int = len(header), extra: str | None = None) -> bytes:
            """One CSV record; __FF__ and __OPEN__ become an invalid byte and an unclosed quote."""
            fields = [row.get(column, "") for column in header][:width] + ([extra] if extra else [])
            out = io.StringIO(newline="")
            csv.writer(out, lineterminator="\n").writerow(fields)
            return out.getvalue().encode().replace(b"__FF__", b"\xff").replace(b"__OPEN__", b'"')

        kinds = ["good"] * rows_good + ["wrong_columns"] * 4 + ["bad_time", "bad_feature", "too_many", "too_few"]
        kinds += ["bad_bytes_kept", "bad_bytes_personal"]
        self.rng.shuffle(kinds)
        lines = []
        for number, kind in enumerate(kinds, start=1):
            if kind in ("good", "wrong_columns"):
                lines.append(line(self.good(export, wrong_columns=kind == "wrong_columns")))
            elif kind == "bad_time":
                lines.append(line(self.bad_time()))
                export.rejects.append((number, "bad_submitted_at"))
            elif kind == "bad_feature":
                lines.append(line(self.bad_feature()))
                export.rejects.append((number, "unknown_feature"))
            elif kind == "too_many":
                lines.append(line(self.good(Export(path)), extra=self.mark("ZQEXTRA{n:03d}XK")))
                export.rejects.append((number, "wrong_field_count"))
            elif kind == "too_few":
                row = self.good(Export(path))
                for column in header[6:]:  # cut off, so never written
                    if row.get(column) in self.markers:
                        self.markers.remove(row[column])
                lines.append(line(row, width=6))
                export.rejects.append((number, "wrong_field_count"))
            elif kind == "bad_bytes_kept":
                lines.append(line({**self.good(Export(path)), "gender": "F__FF__" + self.mark("ZQBADG{n:03d}XK")}))
                export.rejects.append((number, "invalid_encoding"))
            else:  # bad bytes in a column off the allowlist are never parsed: the row loads
                lines.append(line(self.replace(self.good(export), "name", "__FF__ZQBADN{n:03d}XK")))
        write_bytes(path, line(dict(zip(header, header, strict=True))) + b"".join(lines))
        return export

    def jsonl_export(self, path: Path) -> Export:
        """A JSON Lines export: markers in values and keys, broken lines, blank lines."""
        export = Export(path)
        kinds = ["good"] * 20 + ["wrong_columns"] * 3 + ["bad_time", "bad_feature", "invalid_json", "not_object"]
        kinds += ["bad_bytes", "blank", "marker_keys"]
        self.rng.shuffle(kinds)
        lines = []
        for number, kind in enumerate(kinds, start=1):
            if kind in ("good", "wrong_columns"):
                lines.append(
                    json.dumps(self.good(export, wrong_columns=kind == "wrong_columns"), ensure_ascii=False).encode()
                )
            elif kind == "marker_keys":
                # keys that are data, not names: never reported as they are
                row = {**self.good(export), self.mark("zq.key{n:03d}xk@privacy-test.example"): "x"}
                row[self.mark("ZQKEY{n:03d}XK")] = self.mark("ZQKEYVAL{n:03d}XK")
                lines.append(json.dumps(row, ensure_ascii=False).encode())
            elif kind == "bad_time":
                lines.append(json.dumps(self.bad_time(), ensure_ascii=False).encode())
                export.rejects.append((number, "bad_submitted_at"))
            elif kind == "bad_feature":
                lines.append(json.dumps(self.bad_feature(), ensure_ascii=False).encode())
                export.rejects.append((number, "unknown_feature"))
            elif kind == "invalid_json":
                text = json.dumps(self.good(Export(path)), ensure_ascii=False)
                lines.append(text[:-1].encode() + b', "note": ' + self.mark("ZQJSON{n:03d}XK").encode())
                export.rejects.append((number, "invalid_json"))
            elif kind == "not_object":
                lines.append(
                    json.dumps(
                        [self.mark("ZQARRAY{n:03d}XK"), self.mark("zq.array{n:03d}xk@privacy-test.example")]
                    ).encode()
                )
                export.rejects.append((number, "invalid_json"))
            elif kind == "bad_bytes":
                row = self.replace(self.good(Export(path)), "name", "__BAD__ZQBADJ{n:03d}XK")
                lines.append(json.dumps(row, ensure_ascii=False).encode().replace(b"__BAD__", b"\xff\xfe"))
                export.rejects.append((number, "invalid_encoding"))
            else:
                lines.append(b"   ")
        write_bytes(path, b"\n".join(lines) + b"\n")
        return export

    def headerless_export(self, path: Path) -> Path:
        """Rows without a header: the first row, full of personal data, is read as the header and the file refused."""
        rows = [{**self.personal(), "submitted_at": TIMES[0][0], "feature": "coupon"} for _ in range(3)]
        out = io.StringIO(newline="")
        csv.writer(out, lineterminator="\n").writerows(
            [row.get(column, "") for column in (*RAW_HEADER, *EXTRA_COLUMNS)] for row in rows
        )
        return write_bytes(path, out.getvalue().encode())

    def broken_structure_export(self, path: Path) -> Path:
        """A CSV whose line ends change mid-file: DuckDB refuses it, with an error text quoting the line."""
        out = io.StringIO(newline="")
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([*RAW_HEADER, *EXTRA_COLUMNS])
        for number in range(6):
            row = {**self.personal(), "submitted_at": TIMES[0][0], "feature": "coupon"}
            writer.writerow([row.get(column, "") for column in (*RAW_HEADER, *EXTRA_COLUMNS)])
            if number == 2:
                out.seek(out.tell() - 1)
                out.write("\r\n")
        return write_bytes(path, out.getvalue().encode())

    def unclosed_quote_export(self, path: Path) -> Path:
        """A CSV whose row 3 opens a quote (right before a marker) that is never closed: refused whole."""
        out = io.StringIO(newline="")
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([*RAW_HEADER, *EXTRA_COLUMNS])
        for number in range(1, 7):
            row = {**self.personal(), "submitted_at": TIMES[0][0], "feature": "coupon"}
            if number == 3:
                row = self.replace(row, "message", "__OPEN__ZQUNCLOSED{n:03d}XK")
            writer.writerow([row.get(column, "") for column in (*RAW_HEADER, *EXTRA_COLUMNS)])
        return write_bytes(path, out.getvalue().encode().replace(b"__OPEN__", b'"'))


def leaked(data: bytes, markers: list[str]) -> list[str]:
    """The markers, and any marker token, found in some bytes: as UTF-8 in any letter case, or as UTF-16.

    The store file is mostly empty blocks: only its runs of non-zero bytes are searched for
    whole markers (a marker is stored in one piece); the token scans read every byte.
    """
    text = b"\x00".join(re.findall(rb"[^\x00]{8,}", data)).lower()
    found = [marker for marker in markers if marker.encode().lower() in text or marker.lower().encode().lower() in text]
    tokens = TOKEN.findall(data) + [token.replace(b"\x00", b"") for token in TOKEN_UTF16.findall(data)]
    return found + [token.decode() for token in tokens]


def token_in(marker: str, data: bytes) -> bool:
    token = TOKEN.search(marker.encode())
    return token is not None and token.group() in data


def table_values(db: Path) -> bytes:
    """Every table name, column name and value of the store, as text."""
    parts = []
    with duckdb.connect(str(db), read_only=True) as con:
        tables = [name for (name,) in con.execute("select table_name from information_schema.tables").fetchall()]
        for table in tables:
            columns = [
                name
                for (name,) in con.execute(
                    "select column_name from information_schema.columns where table_name = ?", [table]
                ).fetchall()
            ]
            parts += [table, *columns]
            casts = ", ".join(f'"{column}"::varchar' for column in columns)
            for row in con.execute(f'select {casts} from "{table}"').fetchall():
                parts += [str(value) for value in row]
    return "\n".join(parts).encode()


def files_under(folder: Path, skip: Path | None = None) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file() and (skip is None or skip not in path.parents))


def assert_nothing_leaked(tmp_path: Path, raw_dir: Path, db: Path, markers: list[str], outputs: list[str]) -> None:
    assert leaked(db.read_bytes(), markers) == []
    wal = Path(f"{db}.wal")
    if wal.exists():
        assert leaked(wal.read_bytes(), markers) == []
    assert leaked(table_values(db), markers) == []
    for path in files_under(tmp_path, skip=raw_dir):
        assert leaked(path.read_bytes(), markers) == [], path
        assert leaked(str(path.relative_to(tmp_path)).encode(), markers) == [], path
    for text in outputs:
        assert leaked(text.encode(), markers) == []


@pytest.mark.heavy
def test_no_personal_data_leaves_hostile_exports(tmp_path):
    hostile = Hostile(seed=20250304)
    raw_dir = tmp_path / "raw"
    exports = [
        hostile.csv_export(raw_dir / "hostile.csv", header_markers=True),
        hostile.csv_export(raw_dir / "hostile-gz.csv.gz", header_markers=False),
        hostile.jsonl_export(raw_dir / "hostile.jsonl"),
        hostile.jsonl_export(raw_dir / "hostile-gz.jsonl.gz"),
    ]
    headerless = hostile.headerless_export(raw_dir / "headerless.csv")
    broken = hostile.broken_structure_export(raw_dir / "broken.csv")
    unclosed = hostile.unclosed_quote_export(raw_dir / "unclosed.csv")
    assert len(set(hostile.markers)) == len(hostile.markers) > 500
    raw_bytes = b"".join(
        gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
        for path in [*(export.path for export in exports), headerless, broken, unclosed]
    )
    # every marker is in the inputs as it is, or (quoted or escaped there) by its token
    assert [m for m in hostile.markers if m.encode() not in raw_bytes and not token_in(m, raw_bytes)] == []

    work, temp = tmp_path / "work", tmp_path / "tmp"
    work.mkdir()
    temp.mkdir()
    db, rejects = tmp_path / "store" / "visitors.duckdb", tmp_path / "out" / "rejects.csv"
    env = {"TMPDIR": str(temp)}
    outputs = []

    code, out, err = run_etl(
        "load",
        *(e.path for e in exports),
        headerless,
        broken,
        unclosed,
        "--db",
        db,
        "--rejects",
        rejects,
        cwd=work,
        env=env,
    )
    outputs += [out, err]
    assert code == 2
    assert err.splitlines() == [
        f"{headerless}: refused: missing required column 'submitted_at' and 'feature'",
        f"{broken}: refused: the CSV structure is broken (an unclosed quote or mixed line endings); no row of it was loaded",
        f"{unclosed}: refused: the CSV structure is broken near row 3 (a quote is not closed, or text follows a "
        "closing quote); no row of it was loaded",
    ]
    assert (
        "  columns not loaded (not on the allowlist): phone, passport_no, memo, coupon_code, (a header that looks like data, not shown)\n"
        in out
    )

    truth = sum((e.truth for e in exports), Counter())
    assert store_rows(db) == sorted((*cell, visits) for cell, visits in truth.items())
    assert read_rejects(rejects) == [
        REJECTS_HEADER,
        *([e.path.name, str(row), reason] for e in exports for row, reason in e.rejects),
    ]
    assert {str(path.relative_to(tmp_path)) for path in files_under(tmp_path, skip=raw_dir)} == {
        "store/visitors.duckdb",
        "store/visitors.duckdb.lock",
        "out/rejects.csv",
    }
    assert_nothing_leaked(tmp_path, raw_dir, db, hostile.markers, outputs)

    code, out, err = run_etl("batches", "--db", db, cwd=work, env=env)
    outputs += [out, err]
    assert (code, len(out.splitlines())) == (0, 4)

    code, out, err = run_etl("remove-batch", "3", "--db", db, cwd=work, env=env)
    outputs += [out, err]
    assert (code, out) == (0, f"batch 3 (hostile.jsonl, {sum(exports[2].truth.values())} rows) removed from {db}\n")
    truth -= exports[2].truth
    assert store_rows(db) == sorted((*cell, visits) for cell, visits in truth.items())
    assert_nothing_leaked(tmp_path, raw_dir, db, hostile.markers, outputs)


def test_purge_source_overwrites_the_raw_files_and_nothing_leaks(tmp_path):
    hostile = Hostile(seed=7)
    raw_dir = tmp_path / "raw"
    exports = [hostile.csv_export(raw_dir / "a.csv", header_markers=True), hostile.jsonl_export(raw_dir / "b.jsonl.gz")]
    headerless = hostile.headerless_export(raw_dir / "headerless.csv")
    # a second name for each file's data: after the purge it shows what is left on disk
    witnesses = []
    for export in exports:
        witness = tmp_path / "witness" / export.path.name
        witness.parent.mkdir(exist_ok=True)
        os.link(export.path, witness)
        witnesses.append((witness, export.path.stat().st_size))
    work = tmp_path / "work"
    work.mkdir()
    db = tmp_path / "store" / "visitors.duckdb"
    code, out, err = run_etl(
        "load",
        *(e.path for e in exports),
        headerless,
        "--db",
        db,
        "--purge-source",
        "--rejects",
        tmp_path / "rejects.csv",
        cwd=work,
        env={"TMPDIR": str(work)},
    )
    assert code == 2
    assert out.count("  source file destroyed (overwritten and deleted)\n") == 2
    assert [path.name for path in raw_dir.iterdir()] == ["headerless.csv"]
    for witness, size in witnesses:
        assert witness.read_bytes() == bytes(size)
    truth = sum((e.truth for e in exports), Counter())
    assert store_rows(db) == sorted((*cell, visits) for cell, visits in truth.items())
    assert_nothing_leaked(tmp_path, raw_dir, db, hostile.markers, [out, err])


# -- property: random rows, random markers -----------------------------------------------------

VALID_TIMES = [spelling for spelling, _ in TIMES]
KEPT_VALUES = {
    "submitted_at": st.sampled_from([*VALID_TIMES, "", "garbage", "2025-02-30T10:00:00", "1999-01-01T00:00:00Z"]),
    "feature": st.sampled_from(
        [spelling for spellings in FEATURES.values() for spelling in spellings] + ["", "discount"]
    ),
    "gender": st.sampled_from([s for spellings in GENDERS.values() for s in spellings] + ["garbage"]),
    "date_of_birth": st.sampled_from(["1990-01-01", "2011.04.01", "2008/02/29", "1899-12-31", "2099-01-01", "", "x"]),
    "residing_country": st.sampled_from([s for spellings in COUNTRIES.values() for s in spellings]),
}
FREE_TEXT = st.text(
    alphabet=st.one_of(st.characters(exclude_categories=("Cs", "Cc")), st.sampled_from(",\"\n\r\t' ;")), max_size=6
)


@st.composite
def marker(draw) -> tuple[str, str]:
    """(a value holding a marker token in random text, the token)."""
    token = draw(st.from_regex(r"ZQ[A-Z]{2,5}[0-9]{3}XK", fullmatch=True))
    return draw(FREE_TEXT) + token + draw(FREE_TEXT), token


@st.composite
def raw_rows(draw) -> tuple[list[list[str]], list[str]]:
    """Rows under the raw header: kept fields valid, invalid or a marker; personal fields markers.

    Returns the rows and every marker value and token hidden in them.
    """
    markers: list[str] = []
    rows = []
    for _ in range(draw(st.integers(1, 12))):
        row = []
        for column in RAW_HEADER:
            if column in KEPT_VALUES and draw(st.integers(0, 5)):
                row.append(draw(KEPT_VALUES[column]))
            else:
                value, token = draw(marker())
                markers += [value, token]
                row.append(value)
        # now and then a field too many or too few
        width = draw(st.sampled_from([0, 0, 0, 0, 1, -1, -6]))
        if width > 0:
            value, token = draw(marker())
            markers += [value, token]
            row.append(value)
        elif width < 0:
            row = row[:width]
        rows.append(row)
    return rows, markers


# RFC 4180 quoting: a field holding CR or LF is quoted. (Python quotes only the characters of its
# line terminator; a bare CR left unquoted in an LF file breaks DuckDB's CSV state machine, and the
# whole file is refused by design.)
CSV_STYLES = [("\n", csv.QUOTE_ALL), ("\r\n", csv.QUOTE_MINIMAL)]


@pytest.mark.heavy
# No shrink phase: at a third of a second per load, shrinking a failure takes minutes; the
# failing example is printed as it was drawn. A load each: 10 files by default, 100 under GANGNAM_LONG=1.
@settings(
    max_examples=examples(10, 100),
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(raw_rows(), st.sampled_from(CSV_STYLES))
def test_property_no_marker_leaves_random_rows(capsys, rows_and_markers, style):
    rows, markers = rows_and_markers
    line_end, quoting = style
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        out = io.StringIO(newline="")
        writer = csv.writer(out, lineterminator=line_end, quoting=quoting)
        writer.writerow(RAW_HEADER)
        writer.writerows(rows)
        raw = write_bytes(folder / "raw" / "random.csv", out.getvalue().encode())
        db, rejects = folder / "store" / "visitors.duckdb", folder / "rejects.csv"
        (result,) = load([raw], db, rejects_path=rejects)
        captured = capsys.readouterr()
        assert (result.status, result.reason) == ("loaded", None)
        assert result.rows_loaded + result.rows_rejected == len(rows)
        assert len(read_rejects(rejects)) == 1 + result.rows_rejected
        messages = (captured.out + captured.err + repr(result)).encode()
        for data in (db.read_bytes(), rejects.read_bytes(), table_values(db), messages):
            assert leaked(data, markers) == []
