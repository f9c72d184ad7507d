"""Static PNG figures with matplotlib (Agg backend: works offline, no browser needed).

Plotly's static export (kaleido 1.x) downloads a Chrome build at run time, which offline machines
cannot do, so the simulator draws with matplotlib.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from bonemets.sim.api import DISCLAIMER, Cohort
from bonemets.sim.models import MODELS
from bonemets.sim.solve import Trajectory

LABELS = {
    "osteoclasts": "Osteoclasts (cells)",
    "osteoblasts": "Osteoblasts (cells)",
    "bone_mass": "Bone mass (% of start)",
    "tumour": "Tumour (% of maximal size)",
}
COLOURS = ["#444444", "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]


def _panels(states: tuple[str, ...], title: str, illustrative: bool) -> tuple[Figure, list[Axes]]:
    ncols = 2
    nrows = (len(states) + 1) // 2
    fig, axes = plt.subplots(nrows, ncols, figsize=(10, 3.4 * nrows), sharex=True, squeeze=False)
    flat = list(axes.ravel())
    for ax in flat[len(states) :]:
        ax.set_visible(False)
    for ax, state in zip(flat, states, strict=False):
        ax.set_ylabel(LABELS[state])
        ax.grid(alpha=0.3)
    for ax in flat[-ncols:]:
        ax.set_xlabel("Day")
    fig.suptitle(title, fontsize=12)
    if illustrative:
        fig.text(0.5, 0.005, DISCLAIMER, ha="center", va="bottom", fontsize=8, style="italic")
    return fig, flat


def trajectory_figure(traj: Trajectory) -> Figure:
    m = MODELS[traj.model]
    title = m.title + ("" if traj.treatment == "none" else f": {traj.treatment}")
    fig, axes = _panels(traj.states, title, m.illustrative)
    for ax, state in zip(axes, traj.states, strict=False):
        ax.plot(traj.t, traj[state], color=COLOURS[1], lw=1.5)
        if state == "bone_mass" and traj.bone_zero_day is not None:
            ax.axvline(traj.bone_zero_day, color=COLOURS[2], ls=":", lw=1)
    fig.tight_layout(rect=(0, 0.03, 1, 0.97))
    return fig


def cohort_figure(cohort: Cohort) -> Figure:
    m = MODELS[cohort.model]
    n = cohort.y[cohort.arms[0]].shape[0]
    title = f"{m.title}\n{n} virtual patients per arm: median and 10-90% band"
    fig, axes = _panels(cohort.states, title, m.illustrative)
    for k, arm in enumerate(cohort.arms):
        colour = COLOURS[k % len(COLOURS)]
        for ax, state in zip(axes, cohort.states, strict=False):
            low, mid, high = cohort.band(arm, state)
            ax.fill_between(cohort.t, low, high, color=colour, alpha=0.18, lw=0)
            ax.plot(cohort.t, mid, color=colour, lw=1.6, label=arm)
    axes[0].legend(fontsize=8, loc="best")
    fig.tight_layout(rect=(0, 0.03, 1, 0.97))
    return fig


def save(fig: Figure, path: Path) -> Path:
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
