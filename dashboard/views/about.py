"""About the data: what the store holds, how fresh it is, and how small numbers are protected."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from contract import MIN_CELL, TIMEZONE, TIMEZONE_LABEL
from contract.export_log import entries, export_log_path
from dashboard import queries
from dashboard.i18n import MAX_NOISE
from dashboard.ui import batch_log, may, page_start

RULES = {
    "ko": f"""
- 저장소에는 **사람이 아니라 건수**만 있습니다: 날짜(한국 시간), 서비스, 국가, 성별, 연령대별 신청 건수.
  이름, 이메일, 생년월일, IP, 메시지 등 개인을 식별할 수 있는 정보는 저장되지 않습니다.
- **1건 이상 {MIN_CELL}건 미만**인 숫자는 표와 카드에서 `<{MIN_CELL}`로, 그래프와 지도에서는 회색·빗금으로 표시되며
  실제 값은 어디에도 나타나지 않습니다. 0은 그대로 표시됩니다.
- 그 밖의 모든 숫자에는 최대 ±{MAX_NOISE}의 작은 잡음이 더해집니다(셀 키 방식, 통계청들이 쓰는 방법).
  같은 건수는 어느 페이지, 필터, 링크, 내보내기에서나 같은 숫자로 보이고, 두 숫자를 빼도 가려진 작은 값은
  잡음과 섞여 확실히 알 수 없습니다. 합계도 따로 잡음이 더해지므로 부분의 합이 합계와 다를 수 있습니다.
- 비율과 변화율은 공개된 숫자로만 계산합니다.
- 모든 날짜는 한국 시간({TIMEZONE}) 기준입니다. UTC 3월 31일 23:30의 신청은 4월 1일로 집계됩니다.
""",
    "en": f"""
- The store holds **counts, not people**: submissions by date (Korea time), service, country, gender and age group.
  No name, email, date of birth, IP address, message or other identifier is stored.
- A count **from 1 to {MIN_CELL - 1}** is shown as `<{MIN_CELL}` in tables and cards, and drawn grey or hatched in
  charts and on the map; its value appears nowhere. Zero is shown as zero.
- Every other count carries a small noise of at most ±{MAX_NOISE} (the cell key method statistics offices use). The
  same submissions always show as the same number, on any page, filter, link or export, and subtracting two numbers
  gives a hidden count plus noise, never certainty. Totals get their own noise, so parts need not add up to them.
- Shares and changes are computed from published numbers only.
- All dates are Korea time ({TIMEZONE}): a submission at 23:30 UTC on 31 March counts on 1 April.
""",
}


def main() -> None:
    ctx = page_start("about", with_period=False)
    if ctx is None:
        return
    facts = queries.store_facts(ctx.version)
    first, last = pd.Timestamp(facts["first_date"]).date(), pd.Timestamp(facts["last_date"]).date()
    # plain lines, not metric cards: a card cuts a date range or a time short
    st.markdown(
        "\n".join(
            [
                f"- **{ctx.t('last_load')}**: {facts['last_load'] or '–'} ({TIMEZONE_LABEL})",
                f"- **{ctx.t('date_range')}**: {first} – {last}",
                f"- **{ctx.t('batches')}**: {int(facts['batches']):,}",
                f"- **{ctx.t('timezone')}**: {TIMEZONE}",
            ]
        )
    )
    st.subheader(ctx.t("suppression_rule"))
    st.markdown(RULES[ctx.lang])
    st.subheader(ctx.t("batch_log"))
    batch_log(ctx)

    if not may("export_log"):
        return
    st.subheader(ctx.t("last_exports"))
    exports = recent_exports(export_log_path())
    if exports.empty:
        st.caption("–")
    else:
        st.dataframe(exports, hide_index=True, width="stretch")


def recent_exports(path: Path, last: int = 10) -> pd.DataFrame:
    """The last entries of the export log, newest first (the log holds selections and hashes only)."""
    rows = [
        {
            "when": e.when,
            "author": e.author_email or e.author,
            "file": e.file,
            "format": e.format,
            "rows": e.rows,
            "sha256": e.sha256[:16],
        }
        for e in entries(path)[-last:]
    ]
    return pd.DataFrame(rows[::-1])


main()
