"""Deployment settings of the dashboard, each overridable by an environment variable."""

from __future__ import annotations

import os

# The language a page opens in when its link does not say (ko or en).
DEFAULT_LANGUAGE = os.environ.get("GANGNAM_LANG") if os.environ.get("GANGNAM_LANG") in ("ko", "en") else "ko"
# Where the offline world map is served from (Streamlit static serving of dashboard/static/).
TOPOJSON_URL = "/app/static/"
