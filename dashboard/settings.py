"""Deployment settings of the dashboard, each overridable by an environment variable."""

from __future__ import annotations

import os

from contract import LANGUAGES

# The language a page opens in when its link does not say (one of LANGUAGES; the first by default).
DEFAULT_LANGUAGE = os.environ.get("GANGNAM_LANG") if os.environ.get("GANGNAM_LANG") in LANGUAGES else LANGUAGES[0]
# Where the offline world map is served from (Streamlit static serving of dashboard/static/).
TOPOJSON_URL = "/app/static/"
