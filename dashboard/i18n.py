"""Korean and English: every label, axis, tooltip and country name the dashboard shows."""

from __future__ import annotations

import pycountry

from contract import MIN_CELL, TIMEZONE, TIMEZONE_LABEL, TOTAL_LABELS, UNKNOWN
from contract import country_name as contract_country_name
from contract.ptable import load_ptable

# the largest noise a published count carries (D of the ptable)
MAX_NOISE = load_ptable().params.max_noise

TEXT: dict[str, dict[str, str]] = {
    "app_title": {"ko": "강남 방문자 분석", "en": "Gangnam visitor analytics"},
    "overview": {"ko": "개요", "en": "Overview"},
    "countries": {"ko": "국가", "en": "Countries"},
    "demographics": {"ko": "인구통계", "en": "Demographics"},
    "services": {"ko": "서비스", "en": "Services"},
    "about": {"ko": "데이터 안내", "en": "About the data"},
    "language": {"ko": "언어", "en": "Language"},
    "filters": {"ko": "필터", "en": "Filters"},
    "period": {"ko": "기간", "en": "Period"},
    "from": {"ko": "시작일", "en": "From"},
    "to": {"ko": "종료일", "en": "To"},
    "last_7": {"ko": "최근 7일", "en": "Last 7 days"},
    "last_30": {"ko": "최근 30일", "en": "Last 30 days"},
    "last_90": {"ko": "최근 90일", "en": "Last 90 days"},
    "this_month": {"ko": "이번 달", "en": "This month"},
    "last_month": {"ko": "지난달", "en": "Last month"},
    "this_year": {"ko": "올해", "en": "This year"},
    "custom": {"ko": "직접 지정", "en": "Custom"},
    "comparison": {"ko": "비교", "en": "Compare with"},
    "none": {"ko": "비교 안 함", "en": "No comparison"},
    "previous": {"ko": "직전 기간", "en": "Previous period"},
    "last_year": {"ko": "전년 동기 (요일 기준)", "en": "Same period last year (by weekday)"},
    "grain": {"ko": "집계 단위", "en": "Time unit"},
    "day": {"ko": "일", "en": "Day"},
    "week": {"ko": "주", "en": "Week"},
    "month": {"ko": "월", "en": "Month"},
    "year": {"ko": "연", "en": "Year"},
    "country": {"ko": "국가", "en": "Country"},
    "country_mode": {"ko": "국가 선택 방식", "en": "Countries"},
    "include": {"ko": "선택한 국가만", "en": "Only these"},
    "exclude": {"ko": "선택한 국가 제외", "en": "All but these"},
    "gender": {"ko": "성별", "en": "Gender"},
    "age_group": {"ko": "연령대", "en": "Age group"},
    "feature": {"ko": "서비스", "en": "Service"},
    "all": {"ko": "전체", "en": "All"},
    "free_estimate": {"ko": "무료견적", "en": "Free estimate"},
    "self_diagnosis": {"ko": "자가진단", "en": "Self-diagnosis"},
    "coupon": {"ko": "쿠폰", "en": "Coupon"},
    "female": {"ko": "여성", "en": "Female"},
    "male": {"ko": "남성", "en": "Male"},
    "other": {"ko": "기타", "en": "Other"},
    "unknown": {"ko": "알 수 없음", "en": "Unknown"},
    "0-13": {"ko": "0-13세", "en": "0-13"},
    "14-19": {"ko": "14-19세", "en": "14-19"},
    "20-29": {"ko": "20대", "en": "20-29"},
    "30-39": {"ko": "30대", "en": "30-39"},
    "40-49": {"ko": "40대", "en": "40-49"},
    "50-59": {"ko": "50대", "en": "50-59"},
    "60-69": {"ko": "60대", "en": "60-69"},
    "70+": {"ko": "70세 이상", "en": "70+"},
    "submissions": {"ko": "신청 건수", "en": "Submissions"},
    "visits": {"ko": "신청 건수", "en": "Submissions"},
    "share": {"ko": "비율", "en": "Share"},
    "change": {"ko": "변화", "en": "Change"},
    "under_14_share": {"ko": "14세 미만 비율", "en": "Share of under-14s"},
    "comparison_series": {"ko": "비교 기간", "en": "Comparison period"},
    "comparison_visits": {"ko": "비교 기간 신청 건수", "en": "Comparison submissions"},
    "change_percent": {"ko": "변화 (%)", "en": "Change (%)"},
    "comparison_note": {
        "ko": "비교 기간: {start} ~ {end}. 기간 단위 행은 순서대로 짝지어집니다 (첫 주와 첫 주). 변화는 두 값이 모두 공개될 때만 계산합니다.",
        "en": "Comparison period: {start} to {end}. Period rows are paired in order (first week with first week). "
        "Change is given only where both counts are shown.",
    },
    "date": {"ko": "날짜", "en": "Date"},
    "trend": {"ko": "추이", "en": "Trend"},
    "suppressed": {"ko": "비공개", "en": "suppressed"},
    "suppressed_small": {"ko": f"{MIN_CELL}건 미만 (비공개)", "en": f"fewer than {MIN_CELL} (suppressed)"},
    "perturbed_note": {
        "ko": f"모든 수치에는 개인을 알아볼 수 없도록 최대 ±{MAX_NOISE}의 작은 잡음이 더해져 있어(셀 키 방식), "
        "부분의 합이 합계와 조금 다를 수 있습니다.",
        "en": f"Every count carries a small noise of at most ±{MAX_NOISE} so that no one can be singled out "
        "(the cell key method): parts need not add up to their total.",
    },
    "times_in": {
        "ko": f"모든 날짜는 한국 시간({TIMEZONE}) 기준입니다.",
        "en": f"All dates are Korea time ({TIMEZONE}).",
    },
    "no_store_title": {"ko": "아직 데이터가 없습니다", "en": "No data yet"},
    "no_store_body": {
        "ko": "저장소가 없거나 비어 있습니다. 원본 내보내기 파일을 불러오세요:",
        "en": "The store is missing or empty. Load a raw export:",
    },
    "unreadable_store": {
        "ko": "저장소 파일을 읽을 수 없습니다. ETL로 다시 만드세요:",
        "en": "The store file cannot be read. Rebuild it with the ETL:",
    },
    "invalid_value": {"ko": "알 수 없는 값이라 기본값을 사용합니다", "en": "unknown value, the default is used"},
    "invalid_date": {"ko": "날짜 형식이 잘못되어 무시합니다", "en": "not a valid date, ignored"},
    "custom_needs_dates": {
        "ko": "직접 지정 기간에는 시작일과 종료일이 필요합니다",
        "en": "a custom period needs both dates",
    },
    "end_before_start": {"ko": "종료일이 시작일보다 빠릅니다", "en": "the end is before the start"},
    "link_note": {"ko": "링크의 `{name}` 값: {reason}.", "en": "Link parameter `{name}`: {reason}."},
    "map_note": {
        "ko": f"나라를 누르거나 표의 행을 선택하면 모든 페이지가 그 나라로 필터링됩니다. 회색: {MIN_CELL}건 미만 등 비공개.",
        "en": f"Click a country, or select a row of the table, to filter every page to it. Grey: suppressed (fewer than {MIN_CELL}).",
    },
    "total": dict(TOTAL_LABELS),
    "export": {"ko": "내보내기", "en": "Export"},
    "export_period": {"ko": "기간 단위", "en": "Rows by period"},
    "export_no_period": {"ko": "기간 전체", "en": "Whole period"},
    "export_rows": {"ko": "행 기준", "en": "Rows by"},
    "export_count": {"ko": "집계 대상", "en": "Count"},
    "export_format": {"ko": "형식", "en": "Format"},
    "format_excel": {"ko": "엑셀용 (BOM, 한글 제목)", "en": "Excel (BOM, labels)"},
    "format_raw": {"ko": "원자료 (기계용 열 이름)", "en": "Raw (machine column names)"},
    "export_pick_rows": {
        "ko": "행 기준이나 기간 단위를 하나 이상 고르세요.",
        "en": "Pick a period or at least one dimension.",
    },
    "export_rows_count": {"ko": "행", "en": "rows"},
    "download_csv": {"ko": "CSV 내려받기", "en": "Download CSV"},
    "export_note": {
        "ko": "사이드바의 기간과 필터가 적용됩니다. 모든 숫자는 화면과 같은 보호 규칙을 거치며, 내려받기는 내보내기 기록에 남습니다.",
        "en": "The sidebar's period and filters apply. Every number passes the same protection as the screen; each download is logged.",
    },
    "last_exports": {"ko": "최근 내보내기", "en": "Last exports"},
    "top": {"ko": "상위 {n}개국", "en": "top {n}"},
    "partial_periods": {
        "ko": f"첫 구간과 마지막 구간은 선택한 기간에 걸친 날만 셉니다. ▽ 표시: {MIN_CELL}건 미만 등 비공개.",
        "en": f"The first and last periods count only the days inside the selected period. ▽: suppressed (e.g. fewer than {MIN_CELL}).",
    },
    "last_load": {"ko": "마지막 적재", "en": "Last load"},
    "date_range": {"ko": "데이터 기간", "en": "Dates covered"},
    "batches": {"ko": "적재 배치 수", "en": "Load batches"},
    "timezone": {"ko": "시간대", "en": "Time zone"},
    "suppression_rule": {"ko": "작은 숫자 보호 규칙", "en": "How small numbers are protected"},
    "batch_log": {"ko": "적재 기록", "en": "Batch log"},
    "audit": {"ko": "개인정보 감사", "en": "Privacy audit"},
    "audit_intro": {
        "ko": "개인정보 보호책임자가 `python -m audit`로 실행하는 것과 같은 검사입니다. 저장소와 내보내기 파일에 "
        "식별자가 없는지, 공개된 숫자로 개인을 특정할 수 없는지 확인합니다.",
        "en": "The same checks the privacy officer runs with `python -m audit`: no identifier in the store or the "
        "exports, and no published number that singles a person out.",
    },
    "audit_pass": {"ko": "모든 검사 통과", "en": "Every check passed"},
    "audit_fail": {"ko": "통과하지 못한 검사가 있습니다", "en": "Some checks failed"},
    "audit_passed": {"ko": "통과", "en": "PASS"},
    "audit_failed": {"ko": "실패", "en": "FAIL"},
    "audit_schema": {"ko": "스키마 (허용 목록)", "en": "Schema against the allowlist"},
    "audit_domains": {"ko": "값의 범위 (닫힌 도메인)", "en": "Closed domains"},
    "audit_patterns": {"ko": "모든 텍스트 값의 식별자 패턴 검사", "en": "Pattern scan of every text value"},
    "audit_bytes": {"ko": "저장소 파일과 WAL의 바이트 검사", "en": "Byte scan of the store file and its WAL"},
    "audit_risk": {"ko": "k-익명성과 재식별 위험", "en": "k-anonymity and re-identification risk"},
    "audit_under_14": {
        "ko": "14세 미만: 보호자 정보 없음, 0-13 구간 유지",
        "en": "Under-14s: no guardian field, 0-13 whole",
    },
    "audit_exports": {"ko": "내보내기 파일과 내보내기 기록", "en": "Exports and the export log"},
    "audit_details": {"ko": "자세히 (보고서 원문, 영어)", "en": "Details"},
    "audit_findings": {"ko": "발견 사항", "en": "Findings"},
    "audit_where": {"ko": "위치", "en": "Where"},
    "audit_what": {"ko": "내용 (값은 가림)", "en": "What (values masked)"},
    "audit_figure": {"ko": "항목", "en": "Figure"},
    "audit_value": {"ko": "값", "en": "Value"},
    "audit_risk_title": {"ko": "재식별 위험 (k = {k})", "en": "Re-identification risk (k = {k})"},
    # the audit's figures, one per attribute of its figures classes (audit.SchemaFigures, ...)
    "audit_figure_tables": {"ko": "테이블", "en": "Tables"},
    "audit_figure_columns": {"ko": "열", "en": "Columns"},
    "audit_figure_columns_checked": {"ko": "검사한 열", "en": "Columns checked"},
    "audit_figure_values_scanned": {"ko": "검사한 서로 다른 텍스트 값", "en": "Distinct text values scanned"},
    "audit_figure_found": {"ko": "발견: {kind}", "en": "{kind} found"},
    "audit_figure_dates_in_file_names": {
        "ko": "파일 이름 속 날짜 (실패 아님)",
        "en": "Dates in file names (not failed)",
    },
    "audit_figure_bytes_scanned": {"ko": "검사한 바이트", "en": "Bytes scanned"},
    "audit_figure_files": {"ko": "파일", "en": "Files"},
    "audit_figure_free_blocks": {"ko": "빈 블록", "en": "Free blocks"},
    "audit_figure_k": {"ko": "k (집단 크기 기준)", "en": "k (class size)"},
    "audit_figure_classes": {"ko": "집단", "en": "Classes"},
    "audit_figure_records": {"ko": "기록", "en": "Records"},
    "audit_figure_smallest_class": {"ko": "가장 작은 집단", "en": "Smallest class"},
    "audit_figure_classes_below_k": {"ko": "k 미만 집단", "en": "Classes below k"},
    "audit_figure_records_below_k": {"ko": "k 미만 집단의 기록", "en": "Records in classes below k"},
    "audit_figure_unique_classes": {"ko": "기록이 하나뿐인 집단", "en": "Unique classes (one record)"},
    "audit_figure_share_at_risk": {"ko": "k 미만 집단의 기록 비율", "en": "Share of records in classes below k"},
    "audit_figure_highest_risk": {"ko": "최고 위험", "en": "Highest risk"},
    "audit_figure_average_risk": {"ko": "평균 위험", "en": "Average risk"},
    "audit_figure_under_14_submissions": {"ko": "14세 미만(0-13) 신청 건수", "en": "Submissions of under-14s (0-13)"},
    "audit_figure_files_checked": {"ko": "검사한 파일", "en": "Files checked"},
    "audit_figure_files_recomputed": {"ko": "저장소에서 다시 계산한 파일", "en": "Files recomputed from the store"},
    "audit_figure_export_log_lines": {"ko": "내보내기 기록 줄", "en": "Export log lines"},
    "audit_figure_logged_files_not_found": {"ko": "찾지 못한 기록된 파일", "en": "Logged files not found"},
    "audit_store_line": {
        "ko": "저장소 `{path}` · SHA-256 `{sha}` · 검사 시각 {when}",
        "en": "Store `{path}` · SHA-256 `{sha}` · checked {when}",
    },
    # the perturbation table the audit checked the exports against, one label per attribute of audit.PtableInUse
    "audit_ptable_title": {"ko": "섭동 표 (셀 키 방식)", "en": "Perturbation table (cell key method)"},
    "audit_ptable_intro": {
        "ko": "내보내기 파일의 모든 수치를 저장소의 셀과 이 표로 다시 계산해 확인했습니다.",
        "en": "Every exported count was recomputed from the store's cells with this table.",
    },
    "audit_ptable_version": {"ko": "버전", "en": "Version"},
    "audit_ptable_max_noise": {"ko": "최대 잡음 D", "en": "Maximum noise D"},
    "audit_ptable_variance": {"ko": "잡음 분산 V", "en": "Noise variance V"},
    "audit_ptable_min_cell": {"ko": "공개 기준 (min_cell)", "en": "Threshold (min_cell)"},
    "audit_ptable_csv": {"ko": "CSV 파일", "en": "CSV file"},
    "audit_ptable_csv_sha256": {"ko": "CSV SHA-256", "en": "CSV SHA-256"},
    "audit_report": {"ko": "보고서 내려받기", "en": "Download the report"},
    "audit_rerun": {"ko": "다시 검사", "en": "Run again"},
    "col_batch_id": {"ko": "배치", "en": "Batch"},
    "col_file_name": {"ko": "파일", "en": "File"},
    "col_file_format": {"ko": "형식", "en": "Format"},
    "col_loaded_at": {"ko": f"적재 시각 ({TIMEZONE_LABEL})", "en": f"Loaded at ({TIMEZONE_LABEL})"},
    "col_rows_read": {"ko": "읽은 행", "en": "Rows read"},
    "col_rows_loaded": {"ko": "적재된 행", "en": "Rows loaded"},
    "col_rows_rejected": {"ko": "거부된 행", "en": "Rows rejected"},
    "col_first_event_date": {"ko": "첫 날짜", "en": "First date"},
    "col_last_event_date": {"ko": "마지막 날짜", "en": "Last date"},
    "col_source_destroyed": {"ko": "원본 파기", "en": "Source destroyed"},
    "anchored_period": {
        "ko": "저장소의 데이터가 {last}에 끝나므로, 오늘이 아니라 그날까지의 최근 90일을 보여 줍니다.",
        "en": "The store's data ends on {last}, so this shows the last 90 days of data, up to that day.",
    },
    "period_without_data": {
        "ko": "이 기간에는 저장소의 데이터가 없습니다. 저장소에는 {first}부터 {last}까지의 데이터가 있습니다.",
        "en": "The store holds no data in this period: its data runs from {first} to {last}.",
    },
    "show_latest_data": {"ko": "데이터의 최근 90일 보기", "en": "Show the last 90 days of data"},
    # who may see what (dashboard/access.py)
    "role_planner": {"ko": "기획자", "en": "planner"},
    "role_manager": {"ko": "관리자", "en": "manager"},
    "role_officer": {"ko": "개인정보 보호책임자", "en": "privacy officer"},
    "sign_in_title": {"ko": "로그인", "en": "Sign in"},
    "sign_in_body": {
        "ko": "강남 방문자 분석 대시보드는 사무소 계정으로 로그인한 직원만 볼 수 있습니다.",
        "en": "The Gangnam visitor analytics dashboard is for staff signed in with their office account.",
    },
    "sign_in_button": {"ko": "사무소 계정으로 로그인", "en": "Sign in with the office account"},
    "sign_out": {"ko": "로그아웃", "en": "Sign out"},
    "signed_in_as": {"ko": "로그인: {who} · 역할: {roles}", "en": "Signed in as {who} · roles: {roles}"},
    "no_role_title": {"ko": "권한이 없습니다", "en": "No access"},
    "no_role_body": {
        "ko": "{who} 계정에는 이 대시보드의 역할(기획자, 관리자, 개인정보 보호책임자)이 없습니다. 담당자에게 문의하세요.",
        "en": "The account {who} holds none of this dashboard's roles (planner, manager, privacy officer). "
        "Ask the office's administrator for one.",
    },
    "not_for_role_title": {"ko": "이 역할로는 볼 수 없는 페이지입니다", "en": "Not available for your role"},
    "not_for_role_body": {
        "ko": "'{page}' 페이지는 다음 역할 중 하나가 필요합니다: {needed}. 현재 역할: {roles}.",
        "en": "The page '{page}' needs one of these roles: {needed}. Your roles: {roles}.",
    },
    "local_mode_banner": {
        "ko": "로컬 모드: 로그인 설정([auth])이 없어 이 컴퓨터의 사용자 한 명이 모든 역할로 사용합니다. "
        "이 컴퓨터(루프백)에서만 접속할 수 있습니다.",
        "en": "Local mode: no sign-in is configured ([auth]), so this computer's one user holds every role. "
        "Only this computer (the loopback) can reach it.",
    },
    "local_mode_network_banner": {
        "ko": "로컬 모드: 로그인 설정([auth])이 없어 접속하는 누구나 모든 역할로 사용합니다. "
        "access.toml의 allow_network 설정으로 네트워크에 열려 있습니다.",
        "en": "Local mode: no sign-in is configured ([auth]), so anyone who reaches it holds every role. "
        "It is open to the network (allow_network in access.toml).",
    },
    "no_data_in_period": {"ko": "선택한 기간에 데이터가 없습니다.", "en": "No submissions in the selected period."},
    # the Traffic page: the web server's access logs (contract.PAGE_VIEWS_COLUMNS)
    "traffic": {"ko": "웹 트래픽", "en": "Traffic"},
    "views": {"ko": "페이지뷰", "en": "Page views"},
    "visitors": {"ko": "방문자", "en": "Visitors"},
    "step": {"ko": "단계", "en": "Step"},
    "view": {"ko": "조회", "en": "Viewed"},
    "submit": {"ko": "신청", "en": "Submitted"},
    "device": {"ko": "기기", "en": "Device"},
    "desktop": {"ko": "데스크톱", "en": "Desktop"},
    "mobile": {"ko": "모바일", "en": "Mobile"},
    "tablet": {"ko": "태블릿", "en": "Tablet"},
    "viewers": {"ko": "조회한 방문자", "en": "Visitors who viewed"},
    "submitters": {"ko": "신청한 방문자", "en": "Visitors who submitted"},
    "conversion": {"ko": "전환율", "en": "Conversion"},
    # a table's short column names of the same counts
    "col_views": {"ko": "페이지뷰", "en": "Views"},
    "col_visitors": {"ko": "방문자", "en": "Visitors"},
    "col_funnel": {"ko": "전환", "en": "Funnel"},
    "funnel_count": {"ko": "전환 (조회 → 신청)", "en": "Funnel (viewed → submitted)"},
    "col_viewers": {"ko": "조회자", "en": "Viewers"},
    "col_submitters": {"ko": "신청자", "en": "Submitters"},
    "comparison_dotted": {
        "ko": "점선: 비교 기간 ({start} – {end})",
        "en": "Dotted: the comparison period ({start} – {end})",
    },
    "traffic_over_time": {"ko": "서비스 페이지 조회 추이", "en": "Service page views over time"},
    "funnel": {"ko": "서비스별 전환: 조회 → 신청", "en": "Funnel by service: viewed → submitted"},
    "traffic_by_country": {"ko": "국가별 (IP 등록 국가)", "en": "By country (where the address is registered)"},
    "traffic_by_device": {"ko": "기기별", "en": "By device"},
    "no_log_title": {"ko": "아직 웹 트래픽 데이터가 없습니다", "en": "No web traffic loaded yet"},
    "no_log_body": {
        "ko": "저장소에 웹 서버 접속 로그가 없습니다. 접속 로그(NCSA combined 형식, gzip도 가능)를 불러오면 "
        "이 페이지에 조회, 방문자, 전환율이 나타납니다:",
        "en": "The store holds no web server access log. Load one (NCSA combined format, gzipped or not) and this "
        "page shows views, visitors and conversion:",
    },
    "comparison_before_logs": {
        "ko": "비교 없음: 접속 로그는 {first}부터 있어, 비교 기간({start} – {end})의 일부만 담고 있습니다.",
        "en": "No comparison: the access logs start on {first}, so they cover only part of the comparison period "
        "({start} – {end}).",
    },
    "no_traffic_in_period": {
        "ko": "선택한 기간에 웹 트래픽이 없습니다.",
        "en": "No web traffic in the selected period.",
    },
    "traffic_filters_not_apply": {
        "ko": "성별·연령대 필터({names})는 웹 트래픽에 적용되지 않습니다: 접속 로그에는 성별도 나이도 없습니다. "
        "이 페이지의 숫자는 모든 방문자의 것이며, 필터는 다른 페이지를 위해 그대로 유지됩니다.",
        "en": "The gender and age group filters ({names}) do not apply to web traffic: an access log has neither. "
        "The numbers here are of every visitor; the filters are kept for the other pages.",
    },
    "traffic_note": {
        "ko": "국가는 접속 주소(IP)가 등록된 나라(IP 레지스트리)로, 신청서에 적은 거주 국가와 다를 수 있습니다. "
        "방문자는 하루에 서비스 단계마다 한 번 셉니다(주소와 브라우저 기준): 이틀에 걸쳐, 또는 두 기기로 온 사람은 두 번 "
        "셉니다. 페이지뷰는 서비스 페이지 요청 수입니다. 검색 로봇과 스크립트는 빠져 있습니다.",
        "en": "The country is where the visitor's address is registered (the IP registry), which may differ from the "
        "residing country typed in a form. A visitor (an address and a browser) is counted once per day per "
        "service step: someone who comes on two days, or on two devices, counts twice. Page views are requests "
        "of a service page. Crawlers and scripts are left out.",
    },
    "conversion_note": {
        "ko": "전환율 = 신청한 방문자 ÷ 조회한 방문자. 두 숫자가 모두 공개될 때만 계산합니다. 두 숫자에 각각 잡음이 "
        "있어 100%를 넘을 수 있는 값은 100%로 표시합니다.",
        "en": "Conversion = visitors who submitted ÷ visitors who viewed, given only where both counts are shown. "
        "Each count carries its own noise, so a rate that would exceed 100% is shown as 100%.",
    },
    "log_lines_note": {
        "ko": "접속 로그 배치(형식 access_log)의 행은 로그의 줄입니다: 적재된 줄은 조회나 신청으로 센 줄이고, "
        "읽은 줄에는 검색 로봇, 이미지 등 세지 않은 줄도 들어 있어 개인정보 보호책임자만 봅니다.",
        "en": "The rows of an access log batch (format access_log) are its lines: lines loaded are those counted as a "
        "view or a submit; lines read also hold the lines not counted (crawlers, assets, health checks), whose "
        "count only the privacy officer sees.",
    },
}


def t(key: str, lang: str) -> str:
    """The label for `key` in `lang`; the key itself if it has none (never an error on a page)."""
    entry = TEXT.get(key)
    return entry.get(lang, entry["en"]) if entry else key


def country_name(code: str, lang: str) -> str:
    """A country's name for display; `unknown` in the page's language."""
    return t(UNKNOWN, lang) if code == UNKNOWN else contract_country_name(code, lang)


def alpha3(code: str) -> str | None:
    """The ISO alpha-3 code the world map is keyed on."""
    country = pycountry.countries.get(alpha_2=code)
    return country.alpha_3 if country else None
