"""The tables `benchmarks/guarantees.py` prints, from its results."""

from __future__ import annotations

from typing import Any

from guarantee_models import FAMILIES


def table(title: str, rows: list[dict[str, Any]], columns: list[tuple[str, str, str]]) -> str:
    """A fixed-width table: columns are (key, heading, format)."""
    cells = [
        ["-" if row[key] is None else format(row[key], fmt) for key, _, fmt in columns]
        for row in rows
    ]
    headings = [heading for _, heading, _ in columns]
    widths = [max(len(text) for text in column) for column in zip(headings, *cells, strict=True)]
    lines = [title] + [
        "  ".join(text.rjust(width) for text, width in zip(line, widths, strict=True))
        for line in [headings, *cells]
    ]
    return "\n".join(lines)


def report(results: dict[str, Any]) -> str:
    parts = policy_tables(results) if "precision" in results else []
    if "sweep" in results:
        parts.append(sweep_report(results["sweep"], results["target_error"]))
    return "\n\n".join(parts)


def policy_tables(results: dict[str, Any]) -> list[str]:
    target_error, target = results["target_error"], results["target_precision"]
    guarantee = results["guarantee"]
    return [
        table(
            f"precision policy: target {target}, guarantee {guarantee}, "
            f"{results['held_back']} held-back items;\n  overconfident: "
            f"{FAMILIES['overconfident'].about};\n  calibrated: {FAMILIES['calibrated'].about}",
            results["precision"],
            [
                ("family", "family", ""),
                ("gold", "gold", "d"),
                ("coverage_mean", "coverage", ".3f"),
                ("certified_share", "certified", ".3f"),
                ("held_precision_min", "prec_min", ".4f"),
                ("held_precision_mean", "prec_mean", ".4f"),
                ("violation_rate", "violated", ".3f"),
                ("violation_upper_95", "viol_ub95", ".3f"),
                ("hindsight_coverage_mean", "hindsight_cov", ".3f"),
            ],
        ),
        table(
            f"dataset-error policy: target_error {target_error}, guarantee {guarantee}",
            results["dataset_error"],
            [
                ("batch", "batch", "d"),
                ("family", "family", ""),
                ("sample_size", "sample", "d"),
                ("error_mean", "err_mean", ".4f"),
                ("error_max", "err_max", ".4f"),
                ("violation_rate", "violated", ".3f"),
                ("violation_upper_95", "viol_ub95", ".3f"),
                ("reviews_mean", "reviews", ".3f"),
                ("hindsight_reviews_mean", "hindsight_rev", ".3f"),
            ],
        ),
        table(
            f"precision {1 - FAMILIES['flat'].floor:.3f} at every confidence, target "
            f"{target}: share of gold sets certifying anything (all violations)",
            results["flat"],
            [
                ("gold", "gold", "d"),
                ("new_violation_rate", "fixed_seq", ".3f"),
                ("new_violation_upper_95", "fixed_seq_ub95", ".3f"),
                ("old_violation_rate", "old_scan", ".3f"),
            ],
        ),
    ]


def sweep_report(rows: list[dict[str, Any]], target: float) -> str:
    lines = [
        f"sample-size sweep (target_error {target}): mean reviews as a share of the batch",
        f"{'batch':>7} {'family':>13} {'best':>6} {'reviews':>8} {'default':>7} {'reviews':>8}"
        "  curve (size:reviews)",
    ]
    for row in rows:
        curve = " ".join(f"{s}:{r:.3f}" for s, r in row["reviews_by_size"].items())
        lines.append(
            f"{row['batch']:>7} {row['family']:>13} {row['best_size']:>6} "
            f"{row['best_reviews']:>8.3f} {row['default_size']:>7} "
            f"{row['default_reviews']:>8.3f}  {curve}"
        )
    return "\n".join(lines)
