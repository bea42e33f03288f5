-- The named predicates of SPEC §6–§7, one boolean column each (never null: SPEC §6 rev. 2), and the
-- three governance targets. Thresholds compare figures rounded half up to 2 decimals, as the lists
-- show them (round_half_up, 00_macros.sql). A blank cell is unknown, never a third truth value.
CREATE OR REPLACE TABLE predicates AS
WITH p AS (SELECT * FROM params),
facts AS (
    SELECT
        l.parcel_code,
        l.ownership,
        l.conforms_to_plan,
        l.legal_procedures,
        l.management_loose,
        l.building_year,
        l.building_condition,
        coalesce(l.plot_ratio, CASE WHEN l.floor_area_m2 IS NOT NULL THEN l.floor_area_m2 / l.area_m2 END)
            AS plot_ratio_used,
        (SELECT year FROM p) - l.building_year AS building_age,
        m.idle,
        m.tax_per_mu,
        coalesce(pe.all_exempt, false) AS exempt,
        coalesce(pe.above_scale, false) AS above_scale,
        coalesce(pe.backward_capacity, false) AS backward_capacity,
        coalesce(pe.against_industry_direction, false) AS against_industry_direction,
        coalesce(pl.open_major_hazard, false) AS open_major_hazard,
        coalesce(pl.failed_rectification, false) AS failed_rectification,
        coalesce(pl.open_safety_env_hazard, false) AS open_safety_env_hazard,
        coalesce(pl.n_petitions, 0) AS n_petitions,
        -- SPEC §4 (rev. 2): collective when the 权属 cell says 集体 or the 特征码 says J; else 国有
        coalesce(l.ownership = '集体', false)
            OR (length(l.parcel_code) = 19 AND starts_with(l.parcel_code, (SELECT county_code FROM p))
                AND substr(l.parcel_code, 13, 1) = 'J') AS collective
    FROM land l
    JOIN parcel_metrics m ON m.parcel_code = l.parcel_code
    LEFT JOIN parcel_enterprises pe ON pe.parcel_code = l.parcel_code
    LEFT JOIN parcel_ledger pl ON pl.parcel_code = l.parcel_code
),
named AS (
    SELECT
        f.*,
        -- SPEC §6.1: below the threshold, unless every enterprise on the parcel is exempt
        NOT f.exempt AND coalesce(round_half_up(f.tax_per_mu, 2) < (SELECT low_efficiency_tax_per_mu FROM p), false)
            AS low_efficiency,
        coalesce(f.legal_procedures = false, false) AS no_legal_procedures,
        coalesce(round_half_up(f.plot_ratio_used, 2) < (SELECT collective_min_plot_ratio FROM p), false) AS low_plot_ratio,
        coalesce(f.building_age > (SELECT old_building_years FROM p), false)
            OR coalesce(f.building_condition IN (SELECT condition FROM param_poor_conditions), false) AS poor_building,
        coalesce(f.management_loose, false) AS loose_management,
        f.n_petitions >= (SELECT frequent_petition_count FROM p) AS frequent_petitions,
        -- SPEC §7 (rev. 2): a blank plan conformity is unknown: neither conforming nor not
        coalesce(f.conforms_to_plan, false) AS conforms_plan,
        coalesce(f.conforms_to_plan = false, false) AS nonconforming_plan,
        f.conforms_to_plan IS NULL AS plan_unknown
    FROM facts f
)
SELECT
    n.*,
    n.open_major_hazard OR n.failed_rectification AS scattered_polluting,
    n.collective AND (n.no_legal_procedures OR n.low_plot_ratio OR n.poor_building
        OR n.open_safety_env_hazard OR n.loose_management OR n.frequent_petitions) AS collective_problem,
    n.low_efficiency OR n.open_major_hazard OR n.failed_rectification
        OR (n.collective AND (n.no_legal_procedures OR n.low_plot_ratio OR n.poor_building
            OR n.open_safety_env_hazard OR n.loose_management OR n.frequent_petitions))
        OR n.backward_capacity AS in_scope
FROM named n;
