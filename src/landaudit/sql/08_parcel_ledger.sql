-- Per parcel: what its linked ledger items say at the as-of date (SPEC §6.2, §6.3), with Chinese
-- reasons. Only items counted at that date take part (06_ledger_items.sql). Failed rectification
-- counts for 环保, 安全生产, 消防 and 违法建设 only (SPEC §6.2, §7.1 rev. 2); 信访 items count when
-- found in the data year or with no found date (SPEC §6.3 rev. 2).
CREATE OR REPLACE TABLE parcel_ledger AS
WITH p AS (SELECT * FROM params),
linked AS (
    SELECT
        k.parcel_code,
        i.*,
        i.category IN (SELECT category FROM param_scattered_categories) AS is_scattered_category,
        i.category IN (SELECT category FROM param_scattered_categories)
            AND i.severity_level >= (SELECT scattered_min_level FROM p)
            AND NOT i.closed AS is_open_major,
        i.category IN (SELECT category FROM param_hazard_categories) AND NOT i.closed AS is_open_hazard,
        i.category = (SELECT petition_category FROM p)
            AND coalesce(year(i.found_date) = (SELECT year FROM p), true) AS is_petition
    FROM ledger_links k
    JOIN ledger_items i ON i.ledger_id = k.ledger_id
    WHERE i.counted
)
SELECT
    parcel_code,
    count(*) AS n_items,
    count(*) FILTER (WHERE NOT closed) AS n_open,
    count(*) FILTER (WHERE NOT closed AND severity_level >= 2) AS n_open_major,
    count(*) FILTER (WHERE overdue) AS n_overdue,
    count(*) FILTER (WHERE is_petition) AS n_petitions,
    bool_or(is_open_major) AS open_major_hazard,
    bool_or(failed AND is_scattered_category) AS failed_rectification,
    bool_or(is_open_hazard) AS open_safety_env_hazard,
    list(category || severity || '隐患未整改（' || item_id || '）' ORDER BY ledger_id)
        FILTER (WHERE is_open_major) AS open_major_reasons,
    list(category || '整改不合格（' || item_id || '）' ORDER BY ledger_id)
        FILTER (WHERE failed AND is_scattered_category) AS failed_reasons,
    list(category || '隐患未整改（' || item_id || '）' ORDER BY ledger_id)
        FILTER (WHERE is_open_hazard) AS hazard_reasons
FROM linked
GROUP BY parcel_code;
