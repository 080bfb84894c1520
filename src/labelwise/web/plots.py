"""The quality report's plots, drawn by matplotlib as SVG.

Figures are built with the object API (`Figure`), never `pyplot`, so concurrent requests in the
API's thread pool share no global state. Each plot is returned as a `data:` URI for an `<img>`:
an SVG loaded as an image cannot run scripts, whatever text (label names) it carries.
"""

from __future__ import annotations

import base64
import io

from matplotlib.figure import Figure

from labelwise.quality.report_models import QualityReport

_INK = "#1f2933"
_ACCENT = "#2563eb"
_WARN = "#dc2626"
# What the distribution counts, by task type (spans: items with each entity type).
_DISTRIBUTION_TITLES = {
    "spans": "Entity types the model found (items)",
    "rating": "Scores the model gave",
    "pairwise": "Winners the model chose",
}


def _svg_uri(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def accuracy_coverage_plot(report: QualityReport) -> str | None:
    points = report.accuracy_coverage
    if not points:
        return None
    figure = Figure(figsize=(5.2, 3.6))
    axes = figure.add_subplot()
    axes.plot([p.coverage for p in points], [p.accuracy for p in points], color=_ACCENT)
    if report.routing.target_precision is not None:
        axes.axhline(
            report.routing.target_precision, color=_INK, linestyle=":", label="target precision"
        )
    if report.at_threshold is not None and report.at_threshold.precision.value is not None:
        at = report.at_threshold
        axes.plot(
            [at.coverage],
            [at.precision.value],
            marker="o",
            color=_WARN,
            linestyle="none",
            label=f"threshold {at.threshold:.3f}",
        )
    elif report.threshold is None and report.calibration_note:
        axes.text(
            0.98,
            0.96,
            report.calibration_note,
            transform=axes.transAxes,
            ha="right",
            va="top",
            fontsize=8,
            color=_WARN,
        )
    axes.set_xlabel("coverage (share accepted)")
    axes.set_ylabel("accuracy of accepted")
    axes.set_xlim(0, 1.02)
    axes.set_ylim(max(0.0, min(p.accuracy for p in points) - 0.05), 1.01)
    axes.grid(alpha=0.3)
    if axes.get_legend_handles_labels()[0]:
        axes.legend(loc="lower left", fontsize=8)
    axes.set_title("Accuracy against coverage (gold)")
    return _svg_uri(figure)


def reliability_plot(report: QualityReport) -> str | None:
    bins = [b for b in report.reliability if b.count]
    if not bins:
        return None
    figure = Figure(figsize=(5.2, 3.6))
    axes = figure.add_subplot()
    width = 1 / len(report.reliability)
    axes.bar(
        [b.lower for b in bins],
        [b.accuracy or 0.0 for b in bins],
        width=width,
        align="edge",
        color=_ACCENT,
        alpha=0.75,
        edgecolor=_INK,
        label="accuracy in bin",
    )
    axes.plot([0, 1], [0, 1], color=_INK, linestyle=":", label="perfect calibration")
    axes.set_xlabel("confidence")
    axes.set_ylabel("accuracy")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.01)
    axes.legend(loc="upper left", fontsize=8)
    ece = report.gold.ece
    axes.set_title(f"Reliability (ECE {ece:.3f})" if ece is not None else "Reliability")
    return _svg_uri(figure)


def confusion_plot(report: QualityReport) -> str | None:
    confusion = report.confusion
    if confusion is None or not any(any(row) for row in confusion.matrix):
        return None
    n = len(confusion.labels)
    if n > 30:
        return None  # unreadable as a picture; the table below has it
    size = max(3.6, 0.45 * n + 2)
    figure = Figure(figsize=(size, size * 0.85))
    axes = figure.add_subplot()
    image = axes.imshow(confusion.matrix, cmap="Blues")
    axes.set_xticks(range(n), confusion.labels, rotation=45, ha="right", fontsize=8)
    axes.set_yticks(range(n), confusion.labels, fontsize=8)
    peak = max(max(row) for row in confusion.matrix)
    for i, row in enumerate(confusion.matrix):
        for j, count in enumerate(row):
            if count:
                colour = "white" if count > peak / 2 else _INK
                axes.text(j, i, str(count), ha="center", va="center", fontsize=8, color=colour)
    axes.set_xlabel("model's label")
    axes.set_ylabel("true label")
    figure.colorbar(image, ax=axes, shrink=0.8)
    axes.set_title("Confusion matrix (gold)")
    return _svg_uri(figure)


def distribution_plot(report: QualityReport) -> str | None:
    predicted = report.predicted_labels
    if not predicted:
        return None
    labels = list(predicted)[:30]
    figure = Figure(figsize=(5.2, max(2.4, 0.3 * len(labels) + 1)))
    axes = figure.add_subplot()
    axes.barh(labels[::-1], [predicted[label] for label in labels[::-1]], color=_ACCENT)
    axes.set_xlabel("items")
    axes.tick_params(axis="y", labelsize=8)
    axes.set_title(_DISTRIBUTION_TITLES.get(report.task_type, "Labels the model gave"))
    return _svg_uri(figure)


def all_plots(report: QualityReport) -> dict[str, str | None]:
    return {
        "accuracy_coverage": accuracy_coverage_plot(report),
        "reliability": reliability_plot(report),
        "confusion": confusion_plot(report),
        "distribution": distribution_plot(report),
    }
