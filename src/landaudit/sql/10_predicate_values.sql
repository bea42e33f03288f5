-- The predicates as (parcel, name, value) rows, so that the batch rules of the config are data
-- joined here, never SQL text (SPEC §7). The column list equals config.PREDICATES (a test checks).
CREATE OR REPLACE TABLE predicate_values AS
UNPIVOT (
    SELECT parcel_code, low_efficiency, idle, exempt, open_major_hazard, failed_rectification,
           scattered_polluting, collective, collective_problem, no_legal_procedures, low_plot_ratio,
           poor_building, loose_management, frequent_petitions, open_safety_env_hazard, conforms_plan,
           nonconforming_plan, plan_unknown, against_industry_direction, backward_capacity, above_scale
    FROM predicates
)
ON low_efficiency, idle, exempt, open_major_hazard, failed_rectification, scattered_polluting,
   collective, collective_problem, no_legal_procedures, low_plot_ratio, poor_building,
   loose_management, frequent_petitions, open_safety_env_hazard, conforms_plan, nonconforming_plan,
   plan_unknown, against_industry_direction, backward_capacity, above_scale
INTO NAME predicate VALUE value;
