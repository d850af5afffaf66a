"""mu_Li in ``lpsflow results`` and in the report."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lpsflow.descriptors import spread
from lpsflow.descriptors.base import figure_section, has_value, per_accelerant
from lpsflow.plots import COLORS, figure, png
from lpsflow.report_render import Section, Table

if TYPE_CHECKING:
    import pandas as pd

FIGURE = "mu_Li per phase (core vs Li7P3S11)"


def summary(df: pd.DataFrame) -> Section | None:
    """mu_Li of Li7P3S11, of each core and their difference; at the hetero GBs."""
    bulk = "mu_Li_Li7P3S11" in df and not df["mu_Li_Li7P3S11"].isna().all()
    gb = "mu_Li_gb" in df and df["mu_Li_gb"].notna().any()
    if not (bulk or gb):
        return None
    rows = []
    if bulk:
        rows.append(["Li7P3S11", spread.show(df.iloc[0], "mu_Li_Li7P3S11"), "", ""])
        for acc, r in per_accelerant(df).iterrows():
            d = r["dmu_Li"]
            side = (
                ""
                if not has_value(d)
                else "the core loses Li+ to Li7P3S11"
                if d > 0
                else "Li7P3S11 loses Li+ to the core"
            )
            rows.append(
                [
                    f"{acc} core",
                    spread.show(r, "mu_Li_core"),
                    spread.show(r, "dmu_Li"),
                    side,
                ]
            )
    if gb:
        rows += [
            [f"{acc} hetero GB sites", spread.show(r, "mu_Li_gb"), "", ""]
            for acc, r in per_accelerant(df).iterrows()
        ]
    return Section(
        "mu-li",
        "Li chemical potential mu_Li = -min E_v (eV vs bcc Li; E_v = E(defect) + "
        "mu_Li(bcc) - E(host)); +/- s (n): the gap to the next of n relaxed Li "
        "sites",
        [Table(["phase", "mu_Li", "core - Li7P3S11", ""], rows)],
    )


def section(df: pd.DataFrame, points: pd.DataFrame | None = None) -> Section:
    """mu_Li per phase, or a placeholder while there is none."""
    why = "vacancies.enabled is off, or the Li-vacancy jobs have not finished"
    return figure_section("mu-li", FIGURE, "mu_li", points, mu_li_per_phase, why)


def mu_li_per_phase(data: pd.DataFrame) -> bytes:
    """mu_Li per phase, error bars its spread.

    Columns: accelerant, phase, mu_Li (eV), mu_Li_spread (optional).
    """
    fig = figure(6.5, 4.0)
    ax = fig.add_subplot()
    labels = [f"{r.accelerant}\n{r.phase}" for r in data.itertuples()]
    err = data["mu_Li_spread"].astype(float) if "mu_Li_spread" in data else None
    ax.bar(labels, data["mu_Li"], color=COLORS[0], yerr=err, capsize=3)
    ax.set_ylabel("mu_Li = -min E_v (eV)")
    ax.set_title("Li chemical potential per phase")
    return png(fig)
