"""The dashboard's entry point: `streamlit run dashboard/app.py`.

Pages are listed here; each draws the shared sidebar through
`dashboard.ui.page_context()`, so a link to any page carries its filters.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard.i18n import t
from dashboard.settings import DEFAULT_LANGUAGE

VIEWS = Path(__file__).with_name("views")  # not "pages": Streamlit would list that folder on its own

st.set_page_config(page_title="Gangnam visitor analytics", page_icon=":material/analytics:", layout="wide")
lang = st.session_state.get("filter_lang", DEFAULT_LANGUAGE)
navigation = st.navigation(
    [
        st.Page(
            VIEWS / "overview.py",
            title=t("overview", lang),
            icon=":material/monitoring:",
            url_path="overview",
            default=True,
        ),
        st.Page(VIEWS / "countries.py", title=t("countries", lang), icon=":material/public:", url_path="countries"),
        st.Page(
            VIEWS / "demographics.py", title=t("demographics", lang), icon=":material/groups:", url_path="demographics"
        ),
        st.Page(
            VIEWS / "services.py", title=t("services", lang), icon=":material/medical_services:", url_path="services"
        ),
        st.Page(VIEWS / "about.py", title=t("about", lang), icon=":material/info:", url_path="about"),
    ]
)
navigation.run()
