-- ledger item → parcels (SPEC §5): its parcel code(s); else its credit code → enterprise → parcels,
-- or → land rows whose right holder has that credit code (rev. 2); else its normalised name →
-- enterprise → parcels, or → land right holder. Items not counted at the as-of date keep their links.
CREATE OR REPLACE TABLE ledger_links AS
WITH listed AS (
    SELECT ledger_id, unnest(parcel_codes) AS parcel_code FROM ledger_items
),
by_code AS (
    SELECT DISTINCT c.ledger_id, l.parcel_code, 'parcel_code' AS link_method
    FROM listed c JOIN land l ON l.parcel_code = c.parcel_code
),
by_credit AS (
    SELECT DISTINCT ledger_id, parcel_code, 'credit_code' AS link_method FROM (
        SELECT i.ledger_id, k.parcel_code
        FROM ledger_items i
        JOIN enterprises e ON e.credit_code = i.credit_code
        JOIN enterprise_links k ON k.enterprise_id = e.enterprise_id
        UNION ALL
        SELECT i.ledger_id, l.parcel_code
        FROM ledger_items i
        JOIN land l ON l.right_holder_credit_code = i.credit_code
    )
    WHERE ledger_id NOT IN (SELECT ledger_id FROM by_code)
),
by_name AS (
    SELECT DISTINCT ledger_id, parcel_code, 'name' AS link_method FROM (
        SELECT i.ledger_id, k.parcel_code
        FROM ledger_items i
        JOIN enterprises e ON e.name_key = i.name_key
        JOIN enterprise_links k ON k.enterprise_id = e.enterprise_id
        UNION ALL
        SELECT i.ledger_id, l.parcel_code
        FROM ledger_items i
        JOIN land l ON l.right_holder_key = i.name_key
    )
    WHERE ledger_id NOT IN (SELECT ledger_id FROM by_code)
      AND ledger_id NOT IN (SELECT ledger_id FROM by_credit)
)
SELECT * FROM by_code
UNION ALL SELECT * FROM by_credit
UNION ALL SELECT * FROM by_name;
