"""Who may see what: the role mapping, the ID token's lifetime, and local mode's refusal of the network.

The pages each role sees are tested through AppTest in test_dashboard_pages.py and against a real
OpenID Connect provider in test_sign_in.py; here are the rules themselves and `python -m dashboard`.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import REPO

from dashboard.access import (
    ROLES,
    AccessSettingsError,
    Settings,
    is_loopback,
    load_settings,
    local_mode_refusal,
    roles_of,
)
from dashboard.access import expired as token_expired

SHIPPED = REPO / ".streamlit" / "access.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "access.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_settings_are_the_defaults():
    assert load_settings(SHIPPED) == Settings()
    assert load_settings(SHIPPED).claim == "groups"


@pytest.mark.parametrize(
    ("claims", "roles"),
    [
        ({"groups": ["planner"]}, {"planner"}),
        ({"groups": ["planner", "officer", "staff"]}, {"planner", "officer"}),
        ({"groups": "manager officer"}, {"manager", "officer"}),  # one string, as some providers send it
        ({"groups": "manager,planner"}, {"manager", "planner"}),
        ({"groups": ["Planner", "planners", " planner"]}, set()),  # exact values only
        ({"groups": []}, set()),
        ({"groups": None}, set()),
        ({"groups": {"planner": True}}, set()),
        ({"roles": ["officer"]}, set()),  # another claim than the configured one
        ({}, set()),
    ],
)
def test_roles_come_from_the_configured_claim(claims, roles):
    assert roles_of(claims, Settings()) == roles


def test_a_settings_file_maps_the_offices_groups(tmp_path):
    settings = load_settings(
        write(
            tmp_path,
            '[roles]\nclaim = "roles"\nplanner = ["gms-planning", "gms-marketing"]\n'
            'manager = ["gms-managers"]\nofficer = ["gms-dpo"]\n',
        )
    )
    assert roles_of({"roles": ["gms-marketing"]}, settings) == {"planner"}
    assert roles_of({"roles": ["gms-dpo", "gms-managers"]}, settings) == {"manager", "officer"}
    assert roles_of({"roles": ["planner"], "groups": ["gms-dpo"]}, settings) == set()
    assert settings.allow_local_on_network is False


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[roles\n", "cannot be read as TOML"),
        ('[roles]\nclaim = ""\n', "claim must be the name of a claim"),
        ('[roles]\nadmin = ["x"]\n', "has no role admin"),
        ('[roles]\nplanner = "planner"\n', "planner must be a list of claim values"),
        ('[roles]\nofficer = ["dpo", ""]\n', "officer must be a list of claim values"),
        ('[local_mode]\nallow_network = "yes"\n', "allow_network must be true or false"),
    ],
)
def test_a_wrong_settings_file_is_one_clear_error(tmp_path, text, reason):
    path = write(tmp_path, text)
    with pytest.raises(AccessSettingsError) as error:
        load_settings(path)
    assert str(error.value).startswith(f"{path}: ")
    assert reason in str(error.value)


def test_a_missing_settings_file_gives_the_defaults(tmp_path):
    assert load_settings(tmp_path / "none.toml") == Settings()
    assert set(Settings().roles) == set(ROLES)


def test_the_id_tokens_exp_ends_the_session():
    now = datetime(2026, 11, 18, 12, tzinfo=UTC)
    stamp = now.timestamp()
    assert token_expired({"exp": stamp - 1}, now)
    assert token_expired({"exp": stamp}, now)
    assert not token_expired({"exp": stamp + 60}, now)
    assert not token_expired({}, now)  # a provider that sends no exp: Streamlit's own cookie decides
    assert not token_expired({"exp": True}, now)


@pytest.mark.parametrize(
    ("address", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.1.2.3", False),
        ("192.168.0.5", False),
        ("dashboard.office.example", False),
        ("", False),  # streamlit's default: every interface
        (None, False),
    ],
)
def test_loopback_addresses(address, loopback):
    assert is_loopback(address) is loopback
    refusal = local_mode_refusal(address, Settings())
    assert (refusal is None) is loopback
    # the setting lets local mode serve anywhere
    assert local_mode_refusal(address, Settings(allow_local_on_network=True)) is None


def serve(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`python -m dashboard ARGS` from the repository, with no secrets file (local mode)."""
    full_env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "dashboard", "--server.port", "1", *args],
        cwd=REPO,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("args", "env", "where"),
    [
        (["--server.address", "0.0.0.0"], {}, "address 0.0.0.0"),
        (["--server.address=10.1.2.3"], {}, "address 10.1.2.3"),
        ([], {"STREAMLIT_SERVER_ADDRESS": "::"}, "address ::"),
        (["--server.address", "127.0.0.1", "--server.address", "0.0.0.0"], {}, "address 0.0.0.0"),  # the last wins
    ],
)
def test_local_mode_refuses_to_start_on_the_network_in_one_line(tmp_path, args, env, where):
    done = serve(tmp_path, *args, env=env)
    assert done.returncode == 2
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith(
        f"python -m dashboard: local mode (no [auth] in .streamlit/secrets.toml) serves this computer only, not {where}:"
    )
    assert "Traceback" not in done.stderr


def test_a_wrong_settings_file_stops_the_start_in_one_line(tmp_path):
    path = write(tmp_path, "[roles]\nadmin = []\n")
    done = serve(tmp_path, env={"GANGNAM_ACCESS": str(path)})
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"python -m dashboard: {path}: [roles] has no role admin (roles: planner, manager, officer)"
    ]
