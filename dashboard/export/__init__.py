"""CSV exports for managers: single tables, report packs, the export log and the export command.

    table.py    one table's export: check, gate, compare, render (writes nothing)
    render.py   the two CSV flavours (excel, raw), labels and formula escaping
    compare.py  the comparison join: the rows of two periods side by side
    packs.py    the report pack: the standard tables of a month or ISO week in one ZIP
    logged.py   build and append to the export log (its line format: contract/export_log.py)
    cli.py      `python -m dashboard.export table ...` and `... pack month|week ...`

What shapes the package: every exported number passes the same gate as the
dashboard, and a page's download and the command line give the same bytes for
the same selection. Only what the dashboard and the tests call is re-exported.
"""

import logging

from streamlit import runtime
from streamlit.logger import get_logger

if not runtime.exists():
    # the command line has no Streamlit runtime, and the query cache says so on import: expected here
    get_logger("streamlit.runtime.caching.cache_data_api").setLevel(logging.ERROR)

from dashboard.export.cli import main
from dashboard.export.logged import log_export, log_pack, log_path
from dashboard.export.packs import make_pack
from dashboard.export.render import FORMATS, escape_text, export_filename
from dashboard.export.table import PERIODS, applicable, build_export

__all__ = [
    "FORMATS",
    "PERIODS",
    "applicable",
    "build_export",
    "escape_text",
    "export_filename",
    "log_export",
    "log_pack",
    "log_path",
    "main",
    "make_pack",
]
