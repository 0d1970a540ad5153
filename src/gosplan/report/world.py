"""The world plan's comparison as a report section: every region alone (autarky) against the
world planned as one, with the gain by region drawn."""

from __future__ import annotations

from gosplan.report.document import Figure, Section, Table, svg


def world_section(cmp, name: str = "the world") -> tuple[Section, str]:
    """A :class:`Section` of an :class:`~gosplan.planning.world.AutarkyComparison`, and the
    same as Markdown for a text report."""
    from gosplan.plots import world_gains_chart

    t = cmp.table
    gains = (t["multiple_pooled"] / t["multiple_alone"]).sort_values(ascending=False)
    tot = cmp.total
    proxy = "proxy" in cmp.resource
    factors = cmp.pooled.world.economy.factors
    unit = str(factors["unit"].iloc[0]) if len(factors) else ""
    what = (f"The resource is {cmp.resource}: no hours by region and sector were at hand for 2011, "
            "so each region's value added stands in for its labour." if proxy else
            f"The resource is {cmp.resource}.")
    summary = (f"Planned alone, the regions of {name} reach from {t['multiple_alone'].min():.3f} to "
               f"{t['multiple_alone'].max():.3f} times their own basket (final demand of 2011); planned as one "
               f"world that gives every region the same multiple (max-min), each reaches "
               f"{tot['multiple_pooled']:.3f}. Gain most: "
               + ", ".join(f"{r} x{g:.3f}" for r, g in gains.head(3).items())
               + "; least: " + ", ".join(f"{r} x{g:.3f}" for r, g in gains.tail(3)[::-1].items()) + ". "
               f"For the floors each region reaches alone, the pooled plan needs {tot['labour_pooled']:,.0f} {unit} of "
               f"the resource against {tot['labour_alone']:,.0f} {unit} alone (saved {tot['labour_saved']:,.3g} {unit}).")
    why = ("Pooling here redistributes rather than saves: with value added as the resource, every region "
           "spends about one dollar of it per dollar of output, so trade finds no cheaper technique to use "
           "and pays its transport margin." if proxy and abs(tot["labour_saved"]) < 1e-6 * tot["labour_alone"] else "")
    rows = [[str(r), f"{t.at[r, 'multiple_alone']:.3f}", f"{t.at[r, 'multiple_pooled']:.3f}", f"x{g:.3f}"]
            for r, g in gains.items()]
    table = Table("Each region's basket multiple, alone and pooled, by gain",
                  [("region", ""), ("alone", "times its basket"), ("pooled", "times its basket"), ("gain", "")], rows)
    figure = Figure(svg(world_gains_chart(t, resource=cmp.resource)),
                    "Grey: each region planned alone; red: the world planned as one (max-min).",
                    title="Alone and pooled")
    section = Section(f"The world economy pooled, against each region alone ({name})",
                      [summary, what] + ([why] if why else []), [figure, table])
    md = "\n\n".join([f"## {section.title}", summary, what] + ([why] if why else [])) + "\n"
    return section, md
