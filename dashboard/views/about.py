"""About the data: what the store holds, how fresh it is, and how small numbers are protected."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from contract import MIN_CELL, TIMEZONE, TIMEZONE_LABEL
from contract.export_log import entries, export_log_path
from dashboard import queries
from dashboard.ui import batch_log, page_start

RULES = {
    "ko": f"""
- 저장소에는 **사람이 아니라 건수**만 있습니다: 날짜(한국 시간), 서비스, 국가, 성별, 연령대별 신청 건수.
  이름, 이메일, 생년월일, IP, 메시지 등 개인을 식별할 수 있는 정보는 저장되지 않습니다.
- **1건 이상 {MIN_CELL}건 미만**인 숫자는 표와 카드에서 `<{MIN_CELL}`로, 그래프와 지도에서는 회색·빗금으로 표시되며
  실제 값은 어디에도 나타나지 않습니다. 0은 그대로 표시됩니다.
- 합계가 함께 보이는 곳에서는, 가려진 작은 값을 뺄셈으로 알아낼 수 없도록 다른 칸도 함께 가려집니다(`x`로 표시).
- 비율과 변화율은 공개된 숫자로만 계산하며, 계산에 가려진 숫자가 필요하면 비율도 표시하지 않습니다.
- 모든 날짜는 한국 시간({TIMEZONE}) 기준입니다. UTC 3월 31일 23:30의 신청은 4월 1일로 집계됩니다.
""",
    "en": f"""
- The store holds **counts, not people**: submissions by date (Korea time), service, country, gender and age group.
  No name, email, date of birth, IP address, message or other identifier is stored.
- A count **from 1 to {MIN_CELL - 1}** is shown as `<{MIN_CELL}` in tables and cards, and drawn grey or hatched in
  charts and on the map; its value appears nowhere. Zero is shown as zero.
- Where a total is shown, other cells are hidden too (shown as `x`), so that a small count cannot be worked out by
  subtraction.
- Shares and changes are computed from shown numbers only; one that would need a hidden number is not shown.
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

    st.subheader(ctx.t("last_exports"))
    exports = recent_exports(export_log_path())
    if exports.empty:
        st.caption("–")
    else:
        st.dataframe(exports, hide_index=True, width="stretch")


def recent_exports(path: Path, last: int = 10) -> pd.DataFrame:
    """The last entries of the export log, newest first (the log holds selections and hashes only)."""
    rows = [
        {"when": e.when, "file": e.file, "format": e.format, "rows": e.rows, "sha256": e.sha256[:16]}
        for e in entries(path)[-last:]
    ]
    return pd.DataFrame(rows[::-1])


main()
