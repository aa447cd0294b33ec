"""Figures the task scripts log as artifacts, so the MLflow UI is worth opening.

Built on ``matplotlib.figure.Figure`` rather than pyplot: no window, no global state,
and no pyplot import (about half a second a task). The margins are fixed by hand
because ``tight_layout`` costs another tenth of a second per figure.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from labkit.generate_data import NOISE_SD_MS  # no model can beat this RMSE on average


def pred_vs_actual(y_true, y_pred, title: str) -> Figure:
    """Scatter of predicted against actual response time, with the ideal diagonal."""
    fig = Figure(figsize=(5, 5))
    fig.subplots_adjust(left=0.15, right=0.96, bottom=0.1, top=0.93)
    ax = fig.subplots()
    ax.scatter(y_true, y_pred, s=8, alpha=0.5)
    low = float(min(np.min(y_true), np.min(y_pred)))
    high = float(max(np.max(y_true), np.max(y_pred)))
    ax.plot([low, high], [low, high], color="black", linewidth=1, label="perfect prediction")
    ax.set_xlabel("actual response time (ms)")
    ax.set_ylabel("predicted response time (ms)")
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
    ax.axhline(noise_floor, color="black", linestyle="--", label="irreducible noise")
    ax.set_ylabel(f"test {metric} (ms, lower is better)")
    ax.set_xlabel("RandomForest configuration (trees, depth, min leaf)")
    ax.set_title("Hyperparameter sweep")
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
    axes[0].set_ylabel("test R² (higher is better)")
    axes[0].set_title("R² by model")
    axes[0].tick_params(axis="x", labelrotation=15)
    for ax, name in zip(axes[1:], names_):
        ax.scatter(y_true, predictions[name], s=6, alpha=0.4)
        low, high = float(np.min(y_true)), float(np.max(y_true))
        ax.plot([low, high], [low, high], color="black", linewidth=1)
        ax.set_title(f"{name}: rmse {results[name]['rmse']:.1f} ms")
        ax.set_xlabel("actual (ms)")
        ax.set_ylabel("predicted (ms)")
    return fig


def close(fig: Figure) -> None:
    """Free a figure once it is logged (it holds every point it draws)."""
    fig.clear()
