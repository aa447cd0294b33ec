"""Figures the task scripts log with ``mlflow.log_figure``, so the MLflow UI is worth opening.

Each function only builds a ``matplotlib.figure.Figure``; the script logs it itself.
Figures are made without pyplot, as Matplotlib advises for code that draws without a
screen: no window opens and no figure stays registered after it is logged.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from labkit.i18n import Domain

_, N_, _n = Domain("labkit").functions()

# The noise the data generator adds (labkit/maintainers/generate_data.py; test_data.py holds
# the two equal): no model can beat this RMSE on average.
NOISE_SD_MS = 14.0


def pred_vs_actual(y_true, y_pred, title: str) -> Figure:
    """Scatter of predicted against actual response time, with the ideal diagonal."""
    fig = Figure(figsize=(5, 5))
    fig.subplots_adjust(left=0.15, right=0.96, bottom=0.1, top=0.93)
    ax = fig.subplots()
    ax.scatter(y_true, y_pred, s=8, alpha=0.5)
    low = float(min(np.min(y_true), np.min(y_pred)))
    high = float(max(np.max(y_true), np.max(y_pred)))
    ax.plot([low, high], [low, high], color="black", linewidth=1, label=_("perfect prediction"))
    ax.set_xlabel(_("actual response time (ms)"))
    ax.set_ylabel(_("predicted response time (ms)"))
    ax.set_title(title)
    ax.legend(loc="upper left")
    return fig


def sweep_chart(rows: list[dict], metric: str, noise_floor: float = NOISE_SD_MS) -> Figure:
    """RMSE of each sweep configuration, labelled by its hyperparameters."""
    fig = Figure(figsize=(7, 4))
    fig.subplots_adjust(left=0.11, right=0.98, bottom=0.22, top=0.92)
    ax = fig.subplots()
    labels = [row["label"] for row in rows]
    values = [row[metric] for row in rows]
    ax.bar(labels, values, color="tab:green")
    ax.axhline(noise_floor, color="black", linestyle="--", label=_("irreducible noise"))
    ax.set_ylabel(_("test {metric} (ms, lower is better)", metric=metric))
    ax.set_xlabel(_("RandomForest configuration (trees, depth, min leaf)"))
    ax.set_title(_("Hyperparameter sweep"))
    ax.legend()
    ax.tick_params(axis="x", labelrotation=15)
    return fig


def comparison_chart(results: dict[str, dict], y_true, predictions: dict) -> Figure:
    """The three models side by side: R² bars and predicted-vs-actual scatters."""
    names_ = list(results)
    fig = Figure(figsize=(4 * (len(names_) + 1), 4))
    fig.subplots_adjust(left=0.05, right=0.99, bottom=0.17, top=0.92, wspace=0.3)
    axes = fig.subplots(1, len(names_) + 1)
    r2 = [results[n]["r2"] for n in names_]
    axes[0].bar(names_, r2, color=["tab:gray", "tab:green", "tab:blue"][: len(names_)])
    axes[0].set_ylim(0, 1)
    axes[0].set_ylabel(_("test R² (higher is better)"))
    axes[0].set_title(_("R² by model"))
    axes[0].tick_params(axis="x", labelrotation=15)
    for ax, name in zip(axes[1:], names_):
        ax.scatter(y_true, predictions[name], s=6, alpha=0.4)
        low, high = float(np.min(y_true)), float(np.max(y_true))
        ax.plot([low, high], [low, high], color="black", linewidth=1)
        ax.set_title(_("{model}: rmse {rmse:.1f} ms", model=name, rmse=results[name]["rmse"]))
        ax.set_xlabel(_("actual (ms)"))
        ax.set_ylabel(_("predicted (ms)"))
    return fig
