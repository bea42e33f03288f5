-- 四个一批 (SPEC §7): for every in-scope parcel, the first rule (in config order) whose terms hold.
-- A rule holds when all its `all` predicates are true, none of its `none` predicates is true,
-- and, if it has `any` predicates, at least one of them is true. A rule without terms always holds.
CREATE OR REPLACE TABLE batches AS
WITH evaluated AS (
    SELECT
        p.parcel_code,
        r.rule_order,
        r.batch,
        r.description,
        coalesce(bool_and(CASE r.kind WHEN 'all' THEN v.value WHEN 'none' THEN NOT v.value ELSE true END), true)
            AS all_ok,
        bool_or(r.kind = 'any') AS has_any,
        coalesce(bool_or(r.kind = 'any' AND v.value), false) AS any_hit
    FROM predicates p
    CROSS JOIN batch_rule_terms r
    LEFT JOIN predicate_values v ON v.parcel_code = p.parcel_code AND v.predicate = r.predicate
    WHERE p.in_scope
    GROUP BY p.parcel_code, r.rule_order, r.batch, r.description
)
SELECT parcel_code, batch, description AS batch_rule, rule_order
FROM evaluated
WHERE all_ok AND (NOT has_any OR any_hit)
QUALIFY row_number() OVER (PARTITION BY parcel_code ORDER BY rule_order) = 1;
