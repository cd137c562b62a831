"""The dashboard's entry point: `streamlit run dashboard/app.py` (or `python -m dashboard`, which checks first).

Who is signed in decides the pages (dashboard/access.py): a page a role lacks
is not in the navigation, and its URL draws a refusal. Each page draws the
shared sidebar through `dashboard.ui.page_context()`, so a link to any page
carries its filters.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard.access import RIGHTS, AccessSettingsError, User, load_settings
from dashboard.filters import parse_params
from dashboard.i18n import t
from dashboard.ui import refusal_page, signed_in

VIEWS = Path(__file__).with_name("views")  # not "pages": Streamlit would list that folder on its own
# url path -> (title key, icon, the right it needs)
PAGES = {
    "": ("overview", ":material/monitoring:", "charts"),
    "countries": ("countries", ":material/public:", "charts"),
    "demographics": ("demographics", ":material/groups:", "charts"),
    "services": ("services", ":material/medical_services:", "charts"),
    "traffic": ("traffic", ":material/ads_click:", "charts"),
    "export": ("export", ":material/download:", "export"),
    "audit": ("audit", ":material/verified_user:", "audit"),
    "about": ("about", ":material/info:", "charts"),
}

# An emoji icon, set before st.navigation: otherwise the favicon is the page's ":material/...:" icon,
# which the browser fetches from fonts.gstatic.com, out of reach on the intranet.
st.set_page_config(page_icon="📊", layout="wide")
# the language of the labels drawn before the sidebar: a shared link's on the first run
lang = st.session_state.get("filter_lang") or parse_params(st.query_params.to_dict()).filters.lang


def page(url_path: str, user: User) -> st.Page:
    """The page at `url_path`: its view, or (hidden from the navigation) a refusal when the role lacks its right."""
    title_key, icon, right = PAGES[url_path]
    title = t(title_key, lang)
    if user.may(right):
        script = VIEWS / f"{title_key}.py"
        return st.Page(script, title=title, icon=icon, url_path=url_path, default=url_path == "")

    def refused() -> None:
        refusal_page(title, RIGHTS[right], user)

    refused.__name__ = f"refused_{title_key}"  # Streamlit names a page made from a function by it
    return st.Page(refused, title=title, icon=icon, url_path=url_path, visibility="hidden", default=url_path == "")


try:
    user = signed_in(load_settings(), lang)
except AccessSettingsError as error:
    st.error(str(error))
    st.stop()
pages = [page(url_path, user) for url_path in PAGES]
overview = pages[0]


def overview_link() -> None:
    """/overview, as links name it: Streamlit serves the default page at / only, so go there with the filters."""
    st.switch_page(overview, query_params=st.query_params.to_dict())


navigation = st.navigation(
    [*pages, st.Page(overview_link, title=t("overview", lang), url_path="overview", visibility="hidden")]
)
st.set_page_config(page_title=f"{navigation.title} · {t('app_title', lang)}")
navigation.run()
