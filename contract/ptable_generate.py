"""Generate the perturbation table (ptable) of the cell key method, and its parameters file.

Run as `python -m contract.ptable_generate --d 3 --v 2 --out contract/ptable_v1.csv`. It writes the CSV in
the ONS format (`pcv,ckey,pvalue`) and `ptable_v1.toml` beside it; `contract.ptable` reads both.

The method is Giessing (2016)'s maximum-entropy construction as the R package sdcTools/ptable implements it
(`create_cnt_ptable(D, V, js = min_cell - 1)`, optim 1, mono TRUE). For each true count i the noise d runs over
-D..D, less the targets i + d that may not be published (negative, or 1..min_cell-1), and the transition
probabilities p(d) maximize the entropy -sum p log p subject to:
  - sum p = 1 and every p >= 1e-8 (ptable's epsilon);
  - sum d p = 0 (unbiased: an equality, always);
  - sum d^2 p <= V (the variance: an inequality, so rows that cannot reach V get what they can);
  - monotony: p rises from the lowest noise up to d = 0.
Counts of min_cell + D and above all have the full support -D..D and share one solution, of variance V.
The few rows from min_cell to min_cell + D - 1 lose some negative noise to the threshold: being unbiased, they
have less variance than V (min_cell itself cannot move down, so it cannot move at all). Counts 1..min_cell-1
follow the ONS 10_5 table: pvalue = -count, so no row ever publishes 1..min_cell-1 (the gate suppresses those
counts before perturbing anyway). Zero stays zero.

Probabilities become 256 cell-key slots per row as ptable's intervals do: noise values in ascending order, each
owning [lower, upper) of the cumulative probability, rounded to 8 digits; the ckey k takes the noise whose
interval holds its midpoint (k + 0.5) / 256. So the slots are the cumulative probabilities rounded to 1/256,
which keeps |mean| <= D / 256 (each of the 2D inner boundaries moves by at most half a slot) and leaves a
symmetric row exactly unbiased. Same parameters, same scipy: same bytes. scipy and numpy are imported only here.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import re
import sys
from collections.abc import Sequence
from datetime import date
from functools import cache
from pathlib import Path

from contract import MIN_CELL, korea_today
from contract.ptable import MAX_PCV, N_CKEYS, PtableParams, params_path, write_params

# ptable's lower bound on every probability of the support, and the digits its intervals are rounded to.
EPSILON = 1e-8
INTERVAL_DIGITS = 8
METHOD = (
    "maximum entropy per Giessing (2016) as sdcTools/ptable (unbiased, variance <= V, monotone up to 0), "
    "scipy SLSQP; ckey slots by the cumulative probabilities rounded to 1/256"
)


def noise_support(count: int, max_noise: int, min_cell: int) -> tuple[int, ...]:
    """The noise values a true count may get: -D..D without negative or 1..min_cell-1 targets."""
    if count == 0:
        return (0,)
    if count < min_cell:
        return (-count,)
    return tuple(d for d in range(-max_noise, max_noise + 1) if count + d >= min_cell)


@cache
def _max_entropy(support: tuple[int, ...], variance: float) -> tuple[float, ...]:
    """Maximum-entropy probabilities over `support` (which holds 0): unbiased, variance <= V, monotone up to 0."""
    if len(support) == 1 or min(support) == 0 or max(support) == 0:
        return tuple(1.0 if d == 0 else 0.0 for d in support)  # noise of one sign only: unbiased means no noise
    import numpy as np
    from scipy.optimize import minimize

    noise = np.array(support, dtype=float)
    size = len(support)
    constraints = [
        {"type": "eq", "fun": lambda p: p.sum() - 1.0, "jac": lambda p: np.ones(size)},
        {"type": "eq", "fun": lambda p: p @ noise, "jac": lambda p: noise},
        {"type": "ineq", "fun": lambda p: variance - p @ noise**2, "jac": lambda p: -(noise**2)},
    ]
    for k in range(support.index(0)):  # monotony: p[k] <= p[k + 1] left of zero
        gradient = np.zeros(size)
        gradient[k], gradient[k + 1] = -1.0, 1.0
        constraints.append({"type": "ineq", "fun": lambda p, k=k: p[k + 1] - p[k], "jac": lambda p, g=gradient: g})
    result = minimize(
        lambda p: float(np.sum(p * np.log(p))),
        np.full(size, 1.0 / size),
        jac=lambda p: np.log(p) + 1.0,
        method="SLSQP",
        bounds=[(EPSILON, 1.0)] * size,
        constraints=constraints,
        options={"ftol": 1e-12, "maxiter": 1000},
    )
    if not result.success:
        raise RuntimeError(f"no maximum-entropy solution for noise {support} and V = {variance}: {result.message}")
    return tuple(float(p) for p in result.x)


def transition_probabilities(count: int, max_noise: int, variance: float, min_cell: int) -> dict[int, float]:
    """p(noise) for one true count, as sdcTools/ptable builds it (see the module docstring)."""
    support = noise_support(count, max_noise, min_cell)
    return dict(zip(support, _max_entropy(support, variance), strict=True))


def ckey_slots(probabilities: dict[int, float], n_ckeys: int = N_CKEYS) -> list[int]:
    """The pvalue of each ckey 0..n_ckeys-1: ascending noise, slots from the rounded cumulative probability."""
    pvalues: list[int] = []
    cumulative = 0.0
    for noise in sorted(probabilities):
        cumulative += probabilities[noise]
        upper = round(cumulative, INTERVAL_DIGITS)
        # ckey k falls in [lower, upper) when (k + 0.5) / n < upper, i.e. k < upper * n - 0.5
        end = min(n_ckeys, math.ceil(upper * n_ckeys - 0.5))
        pvalues.extend([noise] * (end - len(pvalues)))
    pvalues.extend([max(probabilities)] * (n_ckeys - len(pvalues)))  # 8-digit rounding left the top short
    return pvalues


def generate_rows(max_noise: int, variance: float, min_cell: int = MIN_CELL) -> list[tuple[int, int, int]]:
    """Every (pcv, ckey, pvalue) for pcv 0..750 and ckey 0..255."""
    if not 0 < max_noise < min_cell:
        raise ValueError("D must be at least 1 and below min_cell (a count of min_cell must not reach 0)")
    if variance <= 0:
        raise ValueError("V must be positive")
    rows = []
    for count in range(MAX_PCV + 1):
        slots = ckey_slots(transition_probabilities(count, max_noise, variance, min_cell))
        rows.extend((count, ckey, pvalue) for ckey, pvalue in enumerate(slots))
    return rows


def csv_bytes(rows: Sequence[tuple[int, int, int]]) -> bytes:
    lines = ["pcv,ckey,pvalue", *(f"{pcv},{ckey},{pvalue}" for pcv, ckey, pvalue in rows)]
    return ("\n".join(lines) + "\n").encode("ascii")


def version_of(csv_path: Path) -> int:
    match = re.fullmatch(r"ptable_v(\d+)\.csv", csv_path.name)
    if not match:
        raise ValueError("the ptable's file name must be ptable_v<N>.csv (N is its version)")
    return int(match.group(1))


def write_ptable(
    csv_path: Path,
    max_noise: int,
    variance: float,
    min_cell: int = MIN_CELL,
    generated_on: date | None = None,
) -> PtableParams:
    """Write the CSV and its parameters file beside it; return the parameters."""
    version = version_of(csv_path)
    data = csv_bytes(generate_rows(max_noise, variance, min_cell))
    params = PtableParams(
        version=version,
        max_noise=max_noise,
        variance=float(variance),
        min_cell=min_cell,
        n_ckeys=N_CKEYS,
        max_pcv=MAX_PCV,
        method=METHOD,
        generated_on=(generated_on or korea_today()).isoformat(),
        csv_sha256=hashlib.sha256(data).hexdigest(),
    )
    csv_path.write_bytes(data)
    write_params(params, params_path(csv_path))
    return params


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m contract.ptable_generate", description=__doc__.split("\n")[0])
    parser.add_argument("--d", type=int, required=True, help="D, the largest noise (a count moves by at most D)")
    parser.add_argument("--v", type=float, required=True, help="V, the noise variance of counts >= min_cell + D")
    parser.add_argument("--min-cell", type=int, default=MIN_CELL, help="nothing from 1 to min_cell - 1 is published")
    parser.add_argument("--out", type=Path, required=True, help="ptable_v<N>.csv; the .toml is written beside it")
    parser.add_argument("--date", type=date.fromisoformat, help="the generation date to record (default: today)")
    args = parser.parse_args(argv)
    params = write_ptable(args.out, args.d, args.v, args.min_cell, args.date)
    print(
        f"{args.out}: ptable v{params.version}, D={params.max_noise}, V={params.variance}, sha256 {params.csv_sha256}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
