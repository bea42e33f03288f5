-- Per parcel: the enterprises on it (owner and tenants summed, SPEC §5) and their allocated figures.
-- A sum over enterprises that all lack a figure stays null (reported as missing, never 0).
-- Float sums take their inputs in a fixed order (ORDER BY) so re-runs give identical Parquet.
CREATE OR REPLACE TABLE parcel_enterprises AS
SELECT
    s.parcel_code,
    count(*) AS n_enterprises,
    bool_or(coalesce(e.above_scale, false)) AS above_scale,
    bool_and(e.exempt) AS all_exempt,
    bool_or(coalesce(e.backward_capacity, false)) AS backward_capacity,
    bool_or(e.against_direction) AS against_industry_direction,
    sum(e.tax * s.share ORDER BY e.enterprise_id) AS tax,
    sum(e.value_added * s.share ORDER BY e.enterprise_id) AS value_added,
    sum(e.revenue * s.share ORDER BY e.enterprise_id) AS revenue,
    sum(e.employees * s.share ORDER BY e.enterprise_id) AS employees,
    sum(e.energy_tce * s.share ORDER BY e.enterprise_id) AS energy_tce,
    sum(e.rd_expense * s.share ORDER BY e.enterprise_id) AS rd_expense,
    sum(e.emissions * s.share ORDER BY e.enterprise_id) AS emissions,
    -- SPEC §10 (rev. 2): 规上亩均税收 counts the 规上 enterprises' tax and value added only
    sum(e.tax * s.share ORDER BY e.enterprise_id) FILTER (WHERE e.above_scale) AS above_scale_tax,
    sum(e.value_added * s.share ORDER BY e.enterprise_id) FILTER (WHERE e.above_scale) AS above_scale_value_added,
    count(e.tax) AS n_with_tax,
    string_agg(e.name, '、' ORDER BY e.enterprise_id) AS enterprise_names,
    string_agg(e.credit_code, '、' ORDER BY e.enterprise_id) AS credit_codes,
    string_agg(CASE WHEN e.backward_capacity THEN e.name END, '、' ORDER BY e.enterprise_id) AS backward_names,
    string_agg(CASE WHEN e.against_direction THEN e.name END, '、' ORDER BY e.enterprise_id) AS against_names,
    string_agg(CASE WHEN e.exempt THEN e.name || '（' || e.exempt_reason || '）' END, '、' ORDER BY e.enterprise_id)
        AS exempt_names
FROM enterprise_shares s
JOIN enterprises e ON e.enterprise_id = s.enterprise_id
GROUP BY s.parcel_code;
