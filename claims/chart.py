"""The progress chart (bot /progress, PDF exports): a PNG drawn with matplotlib, no display.

Drawn on a ``matplotlib.figure.Figure`` with its own Agg canvas, not through pyplot: charts
are rendered in worker threads, and pyplot's global figure manager is not thread-safe.
matplotlib is imported on the first chart, not with the module: it costs about half a second,
and ``cpd run`` (which imports this through the workflows) should be listening before that.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from cpd import rules


def progress_png(
    title: str,
    unit: str,
    target: float,
    carried_in: float,
    earned: float,
    period_start: dt.date,
    period_end: dt.date,
    today: dt.date,
    diploma: rules.Diploma | None = None,
) -> bytes:
    """A horizontal bar of carried-in and earned against the target, with time elapsed."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 1.9), dpi=100)  # savefig uses an Agg canvas: no display
    axis = figure.subplots()
    if diploma is not None:
        counted = float(diploma.counted)
        axis.barh([0], [counted], color="#2a9d8f", label="reflected activities")
        axis.axvline(target, color="#264653", linestyle="--", label=f"target {target:g}")
        axis.set_xlim(0, max(target, counted) * 1.1 or 1)
        cats = ", ".join(diploma.categories) or "none yet"
        axis.set_title(f"{title}: {counted:g} of {target:g} activities ({cats})", fontsize=9)
    else:
        axis.barh([0], [carried_in], color="#e9c46a", label="carried in")
        axis.barh([0], [earned], left=[carried_in], color="#2a9d8f", label="earned")
        if target:
            axis.axvline(target, color="#264653", linestyle="--", label=f"target {target:g}")
        total = carried_in + earned
        axis.set_xlim(0, max(target, total) * 1.1 or 1)
        span = max((period_end - period_start).days, 1)
        elapsed = min(max((today - period_start).days, 0), span) / span
        if target:
            axis.axvline(
                target * elapsed,
                color="#e76f51",
                linewidth=1,
                label=f"on pace today ({elapsed:.0%} of the period)",
            )
        axis.set_title(
            f"{title}: {total:g} of {target:g} {unit} by {period_end:%d %b %Y}", fontsize=9
        )
    axis.set_yticks([])
    axis.set_xlabel(unit)
    axis.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def evaluation_png(title: str, unit: str, evaluation: Any, today: dt.date) -> bytes:
    """The chart of a ``rules.Evaluation``, as the bot and the PDF export show it."""
    return progress_png(
        title,
        unit,
        evaluation.target,
        evaluation.carried_in,
        evaluation.earned,
        evaluation.period_start,
        evaluation.period_end,
        today,
        evaluation.diploma,
    )
