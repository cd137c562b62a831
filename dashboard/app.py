"""The dashboard's entry point: `streamlit run dashboard/app.py`.

Pages are listed here; each draws the shared sidebar through
`dashboard.ui.page_context()`, so a link to any page carries its filters.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard.filters import parse_params
from dashboard.i18n import t

VIEWS = Path(__file__).with_name("views")  # not "pages": Streamlit would list that folder on its own

# An emoji icon, set before st.navigation: otherwise the favicon is the page's ":material/...:" icon,
# which the browser fetches from fonts.gstatic.com, out of reach on the intranet.
st.set_page_config(page_icon="📊", layout="wide")
# the language of the labels drawn before the sidebar: a shared link's on the first run
lang = st.session_state.get("filter_lang") or parse_params(st.query_params.to_dict()).filters.lang
overview = st.Page(
    VIEWS / "overview.py", title=t("overview", lang), icon=":material/monitoring:", url_path="", default=True
)


def overview_link() -> None:
    """/overview, as links name it: Streamlit serves the default page at / only, so go there with the filters."""
    st.switch_page(overview, query_params=st.query_params.to_dict())


navigation = st.navigation(
    [
        overview,
        st.Page(VIEWS / "countries.py", title=t("countries", lang), icon=":material/public:", url_path="countries"),
        st.Page(
            VIEWS / "demographics.py", title=t("demographics", lang), icon=":material/groups:", url_path="demographics"
        ),
        st.Page(
            VIEWS / "services.py", title=t("services", lang), icon=":material/medical_services:", url_path="services"
        ),
        st.Page(VIEWS / "export.py", title=t("export", lang), icon=":material/download:", url_path="export"),
        st.Page(VIEWS / "audit.py", title=t("audit", lang), icon=":material/verified_user:", url_path="audit"),
        st.Page(VIEWS / "about.py", title=t("about", lang), icon=":material/info:", url_path="about"),
        st.Page(overview_link, title=t("overview", lang), url_path="overview", visibility="hidden"),
    ]
)
st.set_page_config(page_title=f"{navigation.title} · {t('app_title', lang)}")
navigation.run()
