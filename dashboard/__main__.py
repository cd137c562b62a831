"""`python -m dashboard [streamlit options]`: serve the dashboard, once local mode is known to stay on this computer.

Local mode (no `[auth]` in the secrets) makes whoever reaches the port a user
with every role, so it must not start on an address other machines reach,
unless access.toml allows it. The refusal is one line on stderr and exit 2.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from dashboard.access import AccessSettingsError, load_settings, local_mode_refusal, sign_in_configured

APP = Path(__file__).with_name("app.py")


def flag_value(argv: Sequence[str], name: str) -> str | None:
    """The value of `--name value` or `--name=value` among streamlit's options (the last one given)."""
    value = None
    for index, arg in enumerate(argv):
        if arg == name and index + 1 < len(argv):
            value = argv[index + 1]
        elif arg.startswith(f"{name}="):
            value = arg.split("=", 1)[1]
    return value


def serving_address(argv: Sequence[str]) -> str | None:
    """The address streamlit will listen on: its flag, else its environment variable, else its config files.

    Asked before anything else reads streamlit's config, so that it is read once, with the flag.
    """
    from streamlit import config

    given = flag_value(argv, "--server.address") or os.environ.get("STREAMLIT_SERVER_ADDRESS")
    config.get_config_options(options_from_flags={"server.address": given} if given else {})
    return config.get_option("server.address") or None


def main(argv: Sequence[str]) -> int:
    try:
        settings = load_settings()
    except AccessSettingsError as error:
        print(f"python -m dashboard: {error}", file=sys.stderr)
        return 2
    address = serving_address(argv)
    if not sign_in_configured():
        refusal = local_mode_refusal(address, settings)
        if refusal:
            print(f"python -m dashboard: {refusal}", file=sys.stderr)
            return 2
    os.execv(sys.executable, [sys.executable, "-m", "streamlit", "run", str(APP), *argv])
    return 0  # not reached: streamlit replaces this process


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
