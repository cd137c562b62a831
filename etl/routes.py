"""The site's routes: which URL paths are a service's page and its form, and which requests are not counted.

One TOML file (default `etl/routes.toml`, documented there) is read by the
access-log parser and by the demo log's generator, so that both agree on what
a service step is. The operator edits it for the real site; a wrong file is one
error naming the file and the key, and nothing is loaded.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from contract import FEATURES
from etl.errors import EtlError

ROUTES_PATH = Path(__file__).with_name("routes.toml")
ROUTES_ENV = "GANGNAM_ROUTES"


@dataclass(frozen=True)
class Routes:
    """The parsed routes file."""

    services: dict[str, tuple[str, str]]  # feature -> (view path, submit path)
    health_checks: tuple[str, ...]  # paths a load balancer or a probe asks for
    asset_prefixes: tuple[str, ...]  # paths that start with one of these are assets
    asset_suffixes: tuple[str, ...]  # ... and paths that end with one of these

    def steps(self) -> dict[str, list[str]]:
        """The lookup table the parse joins on: path, feature, step."""
        rows = [
            (path, feature, step)
            for feature, pair in self.services.items()
            for step, path in zip(("view", "submit"), pair, strict=True)
        ]
        return {
            "path": [p for p, _, _ in rows],
            "feature": [f for _, f, _ in rows],
            "route_step": [s for _, _, s in rows],
        }


def _paths(path: Path, table: dict, key: str, *, prefix: bool = True) -> tuple[str, ...]:
    values = table.get(key, [])
    if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
        raise EtlError(f"{path}: [ignore] {key} must be a list of non-empty texts")
    if prefix and not all(v.startswith("/") for v in values):
        raise EtlError(f"{path}: [ignore] {key}: every path starts with /")
    return tuple(values)


def load_routes(path: Path | None = None) -> Routes:
    """Read a routes file, or refuse it with the file and the key that is wrong."""
    path = Path(path or ROUTES_PATH)
    try:
        with open(path, "rb") as file:
            table = tomllib.load(file)
    except OSError as error:
        raise EtlError(f"{path}: the routes file cannot be read ({error.strerror})") from None
    except tomllib.TOMLDecodeError as error:
        raise EtlError(f"{path}: not valid TOML ({error})") from None
    services = {}
    for feature in FEATURES:
        entry = table.get(feature)
        if not isinstance(entry, dict):
            raise EtlError(f"{path}: no [{feature}] table with its view and submit paths")
        pair = tuple(entry.get(step) for step in ("view", "submit"))
        if not all(isinstance(p, str) and p.startswith("/") for p in pair):
            raise EtlError(f"{path}: [{feature}] needs view and submit, each a path starting with /")
        services[feature] = pair
    unknown = sorted(set(table) - {*FEATURES, "ignore"})
    if unknown:
        raise EtlError(f"{path}: unknown table(s) {', '.join(unknown)}; services are {', '.join(FEATURES)}")
    every = [p for pair in services.values() for p in pair]
    if len(set(every)) != len(every):
        raise EtlError(f"{path}: a path is given to more than one service step")
    ignore = table.get("ignore", {})
    return Routes(
        services=services,
        health_checks=_paths(path, ignore, "health_checks"),
        asset_prefixes=_paths(path, ignore, "asset_prefixes"),
        asset_suffixes=_paths(path, ignore, "asset_suffixes", prefix=False),
    )
