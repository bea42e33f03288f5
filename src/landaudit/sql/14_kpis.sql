-- KPIs against targets (SPEC §10) per scope and township; township '全部' is the scope total.
-- 规上 units are parcels with an enterprise above scale, exempt units left out; the numerators are
-- the 规上 enterprises' own tax and value added (SPEC §10 rev. 2: a 规下 tenant's is not counted).
-- Items count as they stand at the as-of date (06_ledger_items.sql `counted`). Open 重大/较大 items
-- linked to no parcel count in the total of a scope that covers every township (rev. 2), shown
-- separately as open_major_unlinked (and the same for overdue and open items, so that report, track
-- and 汇总 give one overdue count).
-- Float sums take their inputs in parcel order so re-runs give identical Parquet.
CREATE OR REPLACE TABLE kpis AS
WITH p AS (SELECT * FROM params),
units AS (
    SELECT s.scope, x.*, x.above_scale AND NOT x.exempt AS rated_above
    FROM parcels x JOIN scope_townships s ON s.township = x.township
),
parcel_kpis AS (
    SELECT
        scope, coalesce(township, '全部') AS township,
        count(*) AS parcels,
        sum(area_mu ORDER BY parcel_code) AS area_mu,
        sum(above_scale_tax ORDER BY parcel_code) FILTER (WHERE rated_above) / sum(area_mu ORDER BY parcel_code) FILTER (WHERE rated_above) AS above_scale_tax_per_mu,
        sum(above_scale_value_added ORDER BY parcel_code) FILTER (WHERE rated_above) / sum(area_mu ORDER BY parcel_code) FILTER (WHERE rated_above) AS above_scale_va_per_mu,
        count(*) FILTER (WHERE low_efficiency) AS low_efficiency_parcels,
        coalesce(sum(area_mu ORDER BY parcel_code) FILTER (WHERE low_efficiency), 0) AS low_efficiency_mu,
        count(*) FILTER (WHERE scattered_polluting) AS scattered_polluting_parcels,
        coalesce(sum(area_mu ORDER BY parcel_code) FILTER (WHERE scattered_polluting), 0) AS scattered_polluting_mu,
        count(*) FILTER (WHERE collective_problem) AS collective_problem_parcels,
        coalesce(sum(area_mu ORDER BY parcel_code) FILTER (WHERE collective_problem), 0) AS collective_problem_mu,
        count(*) FILTER (WHERE in_scope) AS in_scope_parcels,
        coalesce(sum(area_mu ORDER BY parcel_code) FILTER (WHERE in_scope), 0) AS in_scope_mu,
        count(*) FILTER (WHERE batch = '整治提升') AS batch_rectify_parcels,
        coalesce(sum(area_mu ORDER BY parcel_code) FILTER (WHERE batch = '整治提升'), 0) AS batch_rectify_mu,
        count(*) FILTER (WHERE batch = '拆除重建') AS batch_rebuild_parcels,
        coalesce(sum(area_mu ORDER BY parcel_code) FILTER (WHERE batch = '拆除重建'), 0) AS batch_rebuild_mu,
        count(*) FILTER (WHERE batch = '功能转型') AS batch_convert_parcels,
        coalesce(sum(area_mu ORDER BY parcel_code) FILTER (WHERE batch = '功能转型'), 0) AS batch_convert_mu,
        count(*) FILTER (WHERE batch = '关停退出') AS batch_exit_parcels,
        coalesce(sum(area_mu ORDER BY parcel_code) FILTER (WHERE batch = '关停退出'), 0) AS batch_exit_mu,
        -- 腾换空间: 亩 in 拆除重建 + 功能转型 + 关停退出
        coalesce(sum(area_mu ORDER BY parcel_code) FILTER (WHERE batch IN ('拆除重建', '功能转型', '关停退出')), 0) AS freed_space_mu
    FROM units
    GROUP BY GROUPING SETS ((scope, township), (scope))
),
prev_kpis AS (
    SELECT
        s.scope, coalesce(q.township, '全部') AS township,
        sum(q.above_scale_value_added ORDER BY q.parcel_code) FILTER (WHERE q.above_scale AND NOT q.exempt)
            / sum(q.area_mu ORDER BY q.parcel_code) FILTER (WHERE q.above_scale AND NOT q.exempt) AS prev_above_scale_va_per_mu
    FROM prev_parcels q JOIN scope_townships s ON s.township = q.township
    GROUP BY GROUPING SETS ((s.scope, q.township), (s.scope))
),
item_kpis AS (
    SELECT
        scope, coalesce(township, '全部') AS township,
        count(DISTINCT ledger_id) FILTER (WHERE NOT closed AND severity_level >= 2) AS open_major_items,
        count(DISTINCT ledger_id) FILTER (WHERE overdue) AS overdue_items,
        count(DISTINCT ledger_id) FILTER (WHERE NOT closed) AS open_items
    FROM (
        SELECT DISTINCT s.scope, l.township, i.ledger_id, i.closed, i.severity_level, i.overdue
        FROM ledger_links k
        JOIN ledger_items i ON i.ledger_id = k.ledger_id
        JOIN land l ON l.parcel_code = k.parcel_code
        JOIN scope_townships s ON s.township = l.township
        WHERE i.counted
    )
    GROUP BY GROUPING SETS ((scope, township), (scope))
),
unlinked_items AS (
    SELECT s.scope, '全部' AS township,
           count(*) FILTER (WHERE NOT i.closed AND i.severity_level >= 2) AS open_major_unlinked,
           count(*) FILTER (WHERE i.overdue) AS overdue_unlinked,
           count(*) FILTER (WHERE NOT i.closed) AS open_unlinked
    FROM (SELECT DISTINCT scope FROM param_scopes WHERE township IS NULL) s
    CROSS JOIN ledger_items i
    WHERE i.counted AND i.ledger_id NOT IN (SELECT ledger_id FROM ledger_links)
    GROUP BY s.scope
)
SELECT
    (SELECT year FROM p) AS year,
    (SELECT as_of FROM p) AS as_of,
    k.*,
    pv.prev_above_scale_va_per_mu,
    CASE WHEN pv.prev_above_scale_va_per_mu > 0
         THEN k.above_scale_va_per_mu / pv.prev_above_scale_va_per_mu - 1 END AS va_per_mu_growth,
    coalesce(i.open_major_items, 0) + coalesce(u.open_major_unlinked, 0) AS open_major_items,
    coalesce(u.open_major_unlinked, 0) AS open_major_unlinked,
    coalesce(i.overdue_items, 0) + coalesce(u.overdue_unlinked, 0) AS overdue_items,
    coalesce(u.overdue_unlinked, 0) AS overdue_unlinked,
    coalesce(i.open_items, 0) + coalesce(u.open_unlinked, 0) AS open_items,
    (SELECT target_above_scale_tax_per_mu FROM p) AS target_above_scale_tax_per_mu,
    (SELECT target_va_per_mu_growth FROM p) AS target_va_per_mu_growth,
    (SELECT target_open_major_items FROM p) AS target_open_major_items
FROM parcel_kpis k
LEFT JOIN prev_kpis pv ON pv.scope = k.scope AND pv.township = k.township
LEFT JOIN item_kpis i ON i.scope = k.scope AND i.township = k.township
LEFT JOIN unlinked_items u ON u.scope = k.scope AND u.township = k.township
ORDER BY k.scope, k.township = '全部' DESC, k.township;
