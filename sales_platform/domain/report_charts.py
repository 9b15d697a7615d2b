"""The report's two charts as PNG bytes.

Drawn on matplotlib's Agg canvas through `Figure` directly (not pyplot): no display, no global
figure registry, safe in worker threads and processes. The PNG carries no software stamp, so
the same figures give the same bytes and an unchanged day hashes the same.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping, Sequence
from decimal import Decimal

_SIZE_INCHES = (8.0, 3.6)
_DPI = 100
_BAR = "#2b6cb0"
_MISSING = "#c53030"


def _figure():
    from matplotlib.figure import Figure

    figure = Figure(figsize=_SIZE_INCHES, dpi=_DPI, layout="constrained")
    return figure, figure.add_subplot()


def _money_axis(axis) -> None:
    from matplotlib.ticker import FuncFormatter

    axis.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"${value:,.0f}"))
    axis.grid(axis="y", color="#dddddd", linewidth=0.8)
    axis.set_axisbelow(True)
    for side in ("top", "right"):
        axis.spines[side].set_visible(False)


def _png(figure) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def net_sales_by_store(day: dt.date, net_by_store: Mapping[str, Decimal | None]) -> bytes:
    """One bar per expected store; a store that sent nothing is marked, not silently absent."""
    figure, axis = _figure()
    stores = sorted(net_by_store)
    values = [float(net_by_store[s] or 0) for s in stores]
    colours = [_BAR if net_by_store[s] is not None else _MISSING for s in stores]
    axis.bar(stores, values, color=colours)
    for position, store in enumerate(stores):
        if net_by_store[store] is None:
            axis.annotate("no data", (position, 0), ha="center", va="bottom", color=_MISSING, fontsize=9)
    axis.set_title(f"Net sales by store, {day.isoformat()}")
    axis.set_xlabel("store")
    axis.tick_params(axis="x", labelrotation=45 if len(stores) > 12 else 0)
    _money_axis(axis)
    return _png(figure)


def company_net_sales_history(history: Sequence[tuple[dt.date, Decimal | None]]) -> bytes:
    """Days without a company summary are gaps in the line, not zeros."""
    figure, axis = _figure()
    days = [day for day, _ in history]
    values = [float(value) if value is not None else float("nan") for _, value in history]
    axis.plot(days, values, color=_BAR, marker="o", markersize=3, linewidth=1.5)
    if history:
        axis.set_title(f"Company net sales, {days[0].isoformat()} to {days[-1].isoformat()}")
        # The whole window, even where the first days have no figures yet.
        half_day = dt.timedelta(hours=12)
        axis.set_xlim(
            dt.datetime.combine(days[0], dt.time()) - half_day, dt.datetime.combine(days[-1], dt.time()) + half_day
        )
    axis.tick_params(axis="x", labelrotation=45, labelsize=8)
    import matplotlib.dates as mdates

    axis.xaxis.set_major_formatter(mdates.DateFormatter("%b %d"))
    _money_axis(axis)
    return _png(figure)
