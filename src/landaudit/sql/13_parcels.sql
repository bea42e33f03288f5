-- One row per parcel: attributes, enterprises, metrics, flags with Chinese reasons, batch and
-- rating (SPEC §2 parcels.parquet).
CREATE OR REPLACE TABLE parcels AS
WITH p AS (SELECT * FROM params),
reasons AS (
    SELECT
        f.parcel_code,
        CASE WHEN NOT f.low_efficiency THEN []
             WHEN f.idle THEN ['闲置地块（无企业），亩均税收按 0 计']
             -- the reason shows the figure the list cell shows (SPEC §6 rev. 2)
             ELSE [printf('亩均税收 %.2f 万元/亩，低于 %s 万元/亩', round_half_up(f.tax_per_mu, 2),
                          (SELECT low_efficiency_tax_per_mu FROM p)::VARCHAR)]
        END AS low_efficiency_reasons,
        CASE WHEN f.scattered_polluting
             THEN coalesce(pl.open_major_reasons, []) || coalesce(pl.failed_reasons, [])
             ELSE [] END AS scattered_reasons,
        CASE WHEN NOT f.collective_problem THEN [] ELSE list_filter([
            CASE WHEN f.no_legal_procedures THEN '集体土地：无合法用地手续' END,
            CASE WHEN f.low_plot_ratio THEN printf('集体土地：容积率 %.2f，土地利用率低', round_half_up(f.plot_ratio_used, 2)) END,
            CASE WHEN f.building_age > (SELECT old_building_years FROM p)
                 THEN printf('集体土地：建成于 %d 年，房龄 %d 年，建筑结构老化', f.building_year, f.building_age) END,
            CASE WHEN f.building_condition IN (SELECT condition FROM param_poor_conditions)
                 THEN '集体土地：建筑质量' || f.building_condition END,
            CASE WHEN f.open_safety_env_hazard
                 THEN '集体土地：安全环保隐患大（' || array_to_string(pl.hazard_reasons, '；') || '）' END,
            CASE WHEN f.loose_management THEN '集体土地：管理松散' END,
            CASE WHEN f.frequent_petitions THEN printf('集体土地：信访问题多发（%d 件）', f.n_petitions) END
        ], lambda x: x IS NOT NULL) END AS collective_reasons,
        CASE WHEN f.backward_capacity THEN ['落后产能：' || pe.backward_names] ELSE [] END AS backward_reasons
    FROM predicates f
    LEFT JOIN parcel_ledger pl ON pl.parcel_code = f.parcel_code
    LEFT JOIN parcel_enterprises pe ON pe.parcel_code = f.parcel_code
)
SELECT
    (SELECT year FROM p) AS year,
    l.parcel_code, l.township, l.zone, l.location, l.right_holder, l.village,
    -- SPEC §4 (rev. 2): the ownership used (集体 for a J 特征码 even when the cell is blank)
    l.area_mu, l.area_m2, CASE WHEN f.collective THEN '集体' ELSE '国有' END AS ownership,
    l.ownership AS ownership_cell, l.land_use, l.conforms_to_plan, l.legal_procedures,
    f.plot_ratio_used AS plot_ratio, l.floor_area_m2, l.building_year, f.building_age, l.building_condition,
    m.n_enterprises, pe.enterprise_names, pe.credit_codes, f.above_scale, f.exempt, pe.exempt_names, m.idle,
    m.tax, m.value_added, pe.above_scale_tax, pe.above_scale_value_added, m.revenue, m.employees, m.energy_tce, m.rd_expense, m.emissions,
    m.tax_per_mu, m.va_per_mu, m.revenue_per_mu, m.labour_productivity, m.energy_productivity,
    m.emission_productivity, m.rd_intensity, m.va_per_mu_growth, m.metric_notes,
    coalesce(pl.n_items, 0) AS n_items, coalesce(pl.n_open, 0) AS n_open,
    coalesce(pl.n_open_major, 0) AS n_open_major, coalesce(pl.n_overdue, 0) AS n_overdue,
    f.n_petitions,
    f.low_efficiency, f.scattered_polluting, f.collective_problem, f.in_scope,
    f.collective, f.open_major_hazard, f.failed_rectification, f.open_safety_env_hazard,
    f.no_legal_procedures, f.low_plot_ratio, f.poor_building, f.loose_management, f.frequent_petitions,
    f.conforms_plan, f.nonconforming_plan, f.plan_unknown, f.against_industry_direction, f.backward_capacity,
    pe.against_names,
    r.low_efficiency_reasons, r.scattered_reasons, r.collective_reasons,
    r.low_efficiency_reasons || r.scattered_reasons || r.collective_reasons || r.backward_reasons AS reasons,
    b.batch, b.batch_rule,
    rt.rating, rt.rating_group, rt.rating_score, rt.rating_rank, rt.rating_group_size, rt.zero_output,
    l.township IN (SELECT township FROM scope_townships WHERE scope = (SELECT scope FROM p)) AS in_scope_area,
    l.source_file, l.source_sheet, l.source_row
FROM land l
JOIN predicates f ON f.parcel_code = l.parcel_code
JOIN parcel_metrics m ON m.parcel_code = l.parcel_code
JOIN reasons r ON r.parcel_code = l.parcel_code
LEFT JOIN parcel_enterprises pe ON pe.parcel_code = l.parcel_code
LEFT JOIN parcel_ledger pl ON pl.parcel_code = l.parcel_code
LEFT JOIN batches b ON b.parcel_code = l.parcel_code
LEFT JOIN ratings rt ON rt.parcel_code = l.parcel_code
ORDER BY l.parcel_code;
