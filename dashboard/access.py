"""Who is signed in and what they may do.

Sign-in is Streamlit's OpenID Connect (`st.login`, `st.user`, `st.logout`),
configured by `[auth]` in `.streamlit/secrets.toml`. Roles come from one claim
of the ID token, mapped by `.streamlit/access.toml`; a user may hold several.
Without `[auth]` the dashboard runs in local mode: one local user with every
role, on the loopback only (a setting there may allow more).

Rights are checked on the server: a page a role lacks is not in its navigation
and its URL draws a refusal; a download button a role lacks is never built, so
its bytes never reach the browser.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from contract.export_log import Author, os_user

ACCESS_ENV = "GANGNAM_ACCESS"
DEFAULT_ACCESS = Path(__file__).resolve().parents[1] / ".streamlit" / "access.toml"
ROLES = ("planner", "manager", "officer")
# right -> the roles that hold it; officer holds every right
RIGHTS: Mapping[str, frozenset[str]] = {
    "charts": frozenset(ROLES),
    "export": frozenset({"manager", "officer"}),  # the Export page and every download button
    "audit": frozenset({"officer"}),  # the Privacy audit page
    "export_log": frozenset({"officer"}),  # the About page's last exports
    "exact_batches": frozenset({"officer"}),  # the batch log's row counts unperturbed
}
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


class AccessSettingsError(ValueError):
    """access.toml cannot be read or says something that cannot be meant; the message names the file."""


@dataclass(frozen=True)
class Settings:
    claim: str = "groups"  # the ID token claim that holds the user's groups or roles
    # role -> the claim values that grant it
    roles: Mapping[str, frozenset[str]] = field(default_factory=lambda: {role: frozenset({role}) for role in ROLES})
    allow_local_on_network: bool = False


def access_path() -> Path:
    return Path(os.environ.get(ACCESS_ENV) or DEFAULT_ACCESS)


def load_settings(path: Path | None = None) -> Settings:
    """The role mapping and the local-mode setting; the defaults when the file does not exist."""
    path = path or access_path()
    if not path.is_file():
        return Settings()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise AccessSettingsError(f"{path}: cannot be read as TOML ({error})") from None
    roles_table = raw.get("roles", {})
    claim = roles_table.get("claim", Settings.claim)
    if not isinstance(claim, str) or not claim:
        raise AccessSettingsError(f"{path}: [roles] claim must be the name of a claim")
    unknown = sorted(set(roles_table) - {"claim", *ROLES})
    if unknown:
        raise AccessSettingsError(f"{path}: [roles] has no role {', '.join(unknown)} (roles: {', '.join(ROLES)})")
    roles = {}
    for role in ROLES:
        values = roles_table.get(role, [role])
        if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
            raise AccessSettingsError(f"{path}: [roles] {role} must be a list of claim values")
        roles[role] = frozenset(values)
    allow = raw.get("local_mode", {}).get("allow_network", False)
    if not isinstance(allow, bool):
        raise AccessSettingsError(f"{path}: [local_mode] allow_network must be true or false")
    return Settings(claim, roles, allow)


def roles_of(claims: Mapping[str, Any], settings: Settings) -> frozenset[str]:
    """The roles the ID token's claims grant: its claim's values (a list, or one string) through the mapping."""
    value = claims.get(settings.claim)
    if isinstance(value, str):
        held = set(value.replace(",", " ").split())
    elif isinstance(value, Iterable) and not isinstance(value, (bytes, Mapping)):
        held = {str(item) for item in value}
    else:
        held = set()
    return frozenset(role for role in ROLES if settings.roles[role] & held)


@dataclass(frozen=True)
class User:
    name: str  # the `sub` claim, or `local:<OS user>`
    email: str | None
    roles: frozenset[str]
    local: bool = False

    def may(self, right: str) -> bool:
        return bool(RIGHTS[right] & self.roles)

    @property
    def author(self) -> Author:
        return Author(self.name, self.email)


def local_user() -> User:
    return User(f"local:{os_user()}", None, frozenset(ROLES), local=True)


def signed_in_user(claims: Mapping[str, Any], settings: Settings) -> User:
    email = claims.get("email")
    return User(str(claims.get("sub") or ""), str(email) if email else None, roles_of(claims, settings))


def expired(claims: Mapping[str, Any], now: datetime | None = None) -> bool:
    """The ID token's `exp` has passed: the session lasts as long as the provider said."""
    exp = claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, (int, float)):
        return False
    return exp <= (now or datetime.now(UTC)).timestamp()


def sign_in_configured() -> bool:
    """Whether `[auth]` is in Streamlit's secrets: sign-in through the office's identity provider."""
    import streamlit as st

    return st.secrets.load_if_toml_exists() and "auth" in st.secrets


def is_loopback(address: str | None) -> bool:
    """Whether a server address listens on this machine only (no address: every interface)."""
    if not address:
        return False
    if address.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False


def local_mode_refusal(address: str | None, settings: Settings) -> str | None:
    """Why local mode must not serve on this address, or None when it may."""
    if is_loopback(address) or settings.allow_local_on_network:
        return None
    where = f"address {address}" if address else "every network interface"
    return (
        f"local mode (no [auth] in .streamlit/secrets.toml) serves this computer only, not {where}: "
        f"set server.address to 127.0.0.1, configure sign-in, or set [local_mode] allow_network = true "
        f"in {access_path()}"
    )
