"""Input-output analysis of an Economy: pure functions, a formula in and a labelled result out.

One module per model, as the manuals divide them:

* :mod:`~gosplan.analysis.leontief`: the demand-driven (Leontief) model: gross
  output, output and factor multipliers (Type I, employment, value added),
  labour values, footprints and consumption-based accounts, the Hawkins-Simon
  condition;
* :mod:`~gosplan.analysis.ghosh`: the supply-driven (Ghosh) model: output
  coefficients, the Ghosh inverse, output for given primary inputs;
* :mod:`~gosplan.analysis.linkages`: backward and forward linkages, raw and
  normalised (Rasmussen-Hirschman), and key sectors;
* :mod:`~gosplan.analysis.households`: the model closed with respect to
  households: Type II multipliers and induced effects.

Every solve goes through :mod:`gosplan.linalg` with ``I - A`` factored once
(:func:`prepare`, reusable by every function through ``solver=``); no function
forms a dense inverse unless its name says so.
"""

from gosplan.analysis.ghosh import (
    ghosh_inverse,
    output_coefficients,
    supply_driven_output,
)
from gosplan.analysis.households import (
    HOUSEHOLDS,
    close_households,
    type_two_multipliers,
)
from gosplan.analysis.leontief import (
    REGION_SEPARATOR,
    Accounts,
    HawkinsSimon,
    consumption_accounts,
    demand_matrix,
    employment_multipliers,
    factor_multipliers,
    final_demand_factor_use,
    footprints,
    gross_output,
    hawkins_simon,
    labour_factors,
    labour_values,
    leontief_inverse,
    multipliers,
    output_multipliers,
    prepare,
    type_one_multipliers,
    type_one_value_added_multiplier,
    value_added_multipliers,
)
from gosplan.analysis.linkages import key_sectors, linkages

__all__ = [
    "prepare",
    "demand_matrix",
    "gross_output",
    "output_multipliers",
    "factor_multipliers",
    "multipliers",
    "value_added_multipliers",
    "type_one_multipliers",
    "type_one_value_added_multiplier",
    "employment_multipliers",
    "labour_factors",
    "labour_values",
    "footprints",
    "final_demand_factor_use",
    "consumption_accounts",
    "Accounts",
    "leontief_inverse",
    "hawkins_simon",
    "HawkinsSimon",
    "output_coefficients",
    "ghosh_inverse",
    "supply_driven_output",
    "linkages",
    "key_sectors",
    "close_households",
    "type_two_multipliers",
    "HOUSEHOLDS",
    "REGION_SEPARATOR",
]
