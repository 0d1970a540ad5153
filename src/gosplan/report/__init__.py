"""Self-contained HTML reports of every result: one file a planner or a council can
open offline, read and print.

One function per kind of result, each returning a :class:`Report` (``.html()``,
``.write(path)``): :func:`plan_report` (a one-period plan), :func:`multiyear_report`
and :func:`comparison_report` (multi-year plans, scenarios, the price scissors),
:func:`analysis_report` (multipliers, linkages, footprints by region),
:func:`budget_report` (a participatory budget's outcome) and :func:`investment_report`
(a budget round's funded projects in a multi-year plan); :func:`world_report` (a world
plan: regions alone and pooled, trade, limits, the rounds of a decomposed solve) and
:func:`world_section` (each region alone against the world planned as one) for a report
that has a world in it. Templates are Jinja2
(``templates/``), charts matplotlib drawn as inline SVG; the reports only show
results, they never recompute the model.
"""

from gosplan.report.analysis import analysis_report
from gosplan.report.budget import budget_report, investment_report
from gosplan.report.document import Fact, Figure, Report, Section, Table
from gosplan.report.multiyear import comparison_report, multiyear_report
from gosplan.report.plan import plan_report
from gosplan.report.world import world_report, world_section

__all__ = [
    "Fact",
    "Figure",
    "Report",
    "Section",
    "Table",
    "analysis_report",
    "budget_report",
    "comparison_report",
    "investment_report",
    "multiyear_report",
    "plan_report",
    "world_report",
    "world_section",
]
