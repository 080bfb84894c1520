"""Do the guarantees hold, and what do they cost? Many simulated runs of each policy.

    .venv/bin/python benchmarks/guarantees.py [--runs 400] [--seed 1] [--quick] [--json PATH]
        [--sweep | --sweep-only] [--target-error 0.05]

No server: the pure functions that decide (`scoring.calibration.choose_threshold`,
`scoring.dataset_error.certify_cut`) run on labels drawn from generic model families (see
`guarantee_models.py`), whose truth is known, so every run can be judged:

- precision (target 0.95, guarantee 0.95) with 300 / 1,000 / 3,000 gold and an overconfident
  model (a calibrated one beside it): coverage, precision on held-back items, how often the
  certified threshold's true precision is below target, and the coverage of the best threshold
  in hindsight;
- dataset error (target 0.05, or --target-error; guarantee 0.95) on batches of 1,500 and
  20,000: the final error, how often it exceeds the target, human reviews (sample and items
  below the cut, each counted once) as a share of the batch, and the fewest reviews in
  hindsight;
- a model 94.5% right at every confidence with a 0.95 target, where any accepted set breaks the
  promise: how often the fixed-sequence test certifies something, against the old scan;
- with --sweep, total reviews per sample size, beside the default sample size's
  (`scoring.dataset_error.default_sample_size`); every size sees the same batches.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from guarantee_models import FAMILIES, error_run, flat_case_run, precision_run
from guarantee_report import report

from labelwise.scoring.bounds import clopper_pearson_upper
from labelwise.scoring.dataset_error import default_sample_size

TARGET_PRECISION, TARGET_ERROR, GUARANTEE = 0.95, 0.05, 0.95  # --target-error overrides
GOLD_SIZES = (300, 1_000, 3_000)
# The overconfident model is the case in question; the calibrated one shows the same gold on a
# model whose most confident labels are nearly all right.
PRECISION_FAMILIES = ("overconfident", "calibrated")
HELD_BACK = 20_000
BATCHES = (1_500, 20_000)
ERROR_FAMILIES = ("calibrated", "overconfident", "weak", "flat")
SWEEP_BATCHES = (500, 1_500, 5_000, 20_000, 100_000)


def violations(flags: list[bool]) -> dict[str, float]:
    """The observed rate and its one-sided 95% upper bound (exact)."""
    count = int(sum(flags))
    return {
        "violation_rate": count / len(flags),
        "violation_upper_95": clopper_pearson_upper(count, len(flags), 0.05),
    }


def precision_section(runs: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    return [
        precision_row(runs, rng, family, gold)
        for family in PRECISION_FAMILIES
        for gold in GOLD_SIZES
    ]


def precision_row(runs: int, rng: np.random.Generator, family: str, gold: int) -> dict[str, Any]:
    results = [
        precision_run(
            FAMILIES[family],
            rng,
            gold=gold,
            held=HELD_BACK,
            target=TARGET_PRECISION,
            guarantee=GUARANTEE,
        )
        for _ in range(runs)
    ]
    precisions = [r["held_precision"] for r in results if r["held_precision"] is not None]
    return {
        "family": family,
        "gold": gold,
        "runs": runs,
        "coverage_mean": float(np.mean([r["coverage"] for r in results])),
        "certified_share": len(precisions) / runs,
        "held_precision_min": min(precisions) if precisions else None,
        "held_precision_mean": float(np.mean(precisions)) if precisions else None,
        **violations([bool(r["violated"]) for r in results]),
        "hindsight_coverage_mean": float(np.mean([r["hindsight_coverage"] for r in results])),
    }


def error_rows(
    runs: int,
    rng: np.random.Generator,
    population: int,
    family: str,
    *,
    target: float,
    size: int | None = None,
) -> dict[str, Any]:
    results = [
        error_run(
            FAMILIES[family],
            rng,
            population=population,
            target=target,
            guarantee=GUARANTEE,
            sample_size=size,
        )
        for _ in range(runs)
    ]
    return {
        "batch": population,
        "family": family,
        "runs": runs,
        "sample_size": size or default_sample_size(population, target),
        "error_mean": float(np.mean([r["error"] for r in results])),
        "error_max": float(max(r["error"] for r in results)),
        **violations([bool(r["violated"]) for r in results]),
        "reviews_mean": float(np.mean([r["reviews"] for r in results])),
        "hindsight_reviews_mean": float(np.mean([r["hindsight_reviews"] for r in results])),
    }


def error_section(runs: int, rng: np.random.Generator, target: float) -> list[dict[str, Any]]:
    return [
        error_rows(runs, rng, n, family, target=target)
        for n in BATCHES
        for family in ERROR_FAMILIES
    ]


def flat_section(runs: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    rows = []
    for gold in GOLD_SIZES:
        pairs = [
            flat_case_run(rng, gold=gold, target=TARGET_PRECISION, guarantee=GUARANTEE)
            for _ in range(runs)
        ]
        new, old = violations([p[0] for p in pairs]), violations([p[1] for p in pairs])
        rows.append(
            {
                "gold": gold,
                "runs": runs,
                "new_violation_rate": new["violation_rate"],
                "new_violation_upper_95": new["violation_upper_95"],
                "old_violation_rate": old["violation_rate"],
            }
        )
    return rows


def sweep_sizes(population: int, target: float) -> list[int]:
    """Sample sizes by factors of about sqrt(2) from 50 to half the batch (at most 16,000, far
    past the best for any batch swept), and the default."""
    sizes = {round(50 * 2 ** (i / 2)) for i in range(40)}
    sizes = {s for s in sizes if s <= min(population // 2, 16_000)}
    return sorted(sizes | {default_sample_size(population, target)})


def sweep_section(
    runs: int, seed: int, batches: tuple[int, ...], target: float
) -> list[dict[str, Any]]:
    """Per batch size and family: mean reviews at each sample size, the best, and the default.
    Every size sees the same batches and the same uniform draws (a larger sample holds the
    smaller ones), so the curve's steps are the size's doing, not the noise's."""
    rows = []
    for population in batches:
        default = default_sample_size(population, target)
        for index, family in enumerate(ERROR_FAMILIES):
            curve = {
                size: error_rows(
                    runs,
                    np.random.default_rng([seed, population, index]),
                    population,
                    family,
                    target=target,
                    size=size,
                )["reviews_mean"]
                for size in sweep_sizes(population, target)
            }
            best = min(curve, key=curve.__getitem__)
            rows.append(
                {
                    "batch": population,
                    "family": family,
                    "best_size": best,
                    "best_reviews": curve[best],
                    "default_size": default,
                    "default_reviews": curve[default],
                    "reviews_by_size": curve,
                }
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=400, help="simulated runs per row")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="60 runs a row, smaller sweep")
    parser.add_argument("--sweep", action="store_true", help="also sweep the sample size")
    parser.add_argument("--sweep-only", action="store_true", help="only the sweep")
    parser.add_argument("--target-error", type=float, default=TARGET_ERROR)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    runs = 60 if args.quick else args.runs
    print("$ " + shlex.join([sys.executable, *sys.argv]), flush=True)
    rng = np.random.default_rng(args.seed)
    started = time.monotonic()
    results: dict[str, Any] = {
        "runs": runs,
        "seed": args.seed,
        "target_precision": TARGET_PRECISION,
        "guarantee": GUARANTEE,
        "held_back": HELD_BACK,
        "target_error": args.target_error,
    }
    if not args.sweep_only:
        results["precision"] = precision_section(runs, rng)
        results["dataset_error"] = error_section(runs, rng, args.target_error)
        results["flat"] = flat_section(runs * 5, rng)
    if args.sweep or args.sweep_only:
        batches = SWEEP_BATCHES[:3] if args.quick else SWEEP_BATCHES
        results["sweep"] = sweep_section(max(20, runs // 10), args.seed, batches, args.target_error)
    results["seconds"] = round(time.monotonic() - started, 1)
    print(report(results))
    print(f"\n{results['seconds']} s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
