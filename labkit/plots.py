"""Figures the task scripts log as artifacts, so the MLflow UI is worth opening."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # no screen needed; figures go to MLflow, not to a window

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def pred_vs_actual(y_true, y_pred, title: str):
    """Scatter of predicted against actual response time, with the ideal diagonal."""
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(y_true, y_pred, s=8, alpha=0.5)
    low = float(min(np.min(y_true), np.min(y_pred)))
    high = float(max(np.max(y_true), np.max(y_pred)))
    ax.plot([low, high], [low, high], color="black", linewidth=1, label="perfect prediction")
    ax.set_xlabel("actual response time (ms)")
    ax.set_ylabel("predicted response time (ms)")
    ax.set_title(title)
    ax.legend(loc="upper left")
    fig.tight_layout()
    return fig


def sweep_chart(rows: list[dict], metric: str, noise_floor: float):
    """RMSE of each sweep configuration, labelled by its hyperparameters."""
    fig, ax = plt.subplots(figsize=(7, 4))
    labels = [row["label"] for row in rows]
    values = [row[metric] for row in rows]
    ax.bar(labels, values, color="tab:green")
    ax.axhline(noise_floor, color="black", linestyle="--", label="irreducible noise")
    ax.set_ylabel(f"test {metric} (ms, lower is better)")
    ax.set_xlabel("RandomForest configuration (trees, depth, min leaf)")
    ax.set_title("Hyperparameter sweep")
    ax.legend()
    plt.setp(ax.get_xticklabels(), rotation=15)
    fig.tight_layout()
    return fig


def comparison_chart(results: dict[str, dict], y_true, predictions: dict):
    """The three models side by side: R² bars and predicted-vs-actual scatters."""
    names_ = list(results)
    fig, axes = plt.subplots(1, len(names_) + 1, figsize=(4 * (len(names_) + 1), 4))
    r2 = [results[n]["r2"] for n in names_]
    axes[0].bar(names_, r2, color=["tab:gray", "tab:green", "tab:blue"][: len(names_)])
    axes[0].set_ylim(0, 1)
    axes[0].set_ylabel("test R² (higher is better)")
    axes[0].set_title("R² by model")
    plt.setp(axes[0].get_xticklabels(), rotation=15)
    for ax, name in zip(axes[1:], names_):
        ax.scatter(y_true, predictions[name], s=6, alpha=0.4)
        low, high = float(np.min(y_true)), float(np.max(y_true))
        ax.plot([low, high], [low, high], color="black", linewidth=1)
        ax.set_title(f"{name}: rmse {results[name]['rmse']:.1f} ms")
        ax.set_xlabel("actual (ms)")
        ax.set_ylabel("predicted (ms)")
    fig.tight_layout()
    return fig


def close(fig) -> None:
    plt.close(fig)
