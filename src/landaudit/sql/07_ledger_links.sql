-- ledger item → parcels (SPEC §5): its parcel code; else its credit code → enterprise → parcels;
-- else its normalised name → enterprise → parcels, or → land right holder.
CREATE OR REPLACE TABLE ledger_links AS
WITH by_code AS (
    SELECT DISTINCT i.ledger_id, l.parcel_code, 'parcel_code' AS link_method
    FROM ledger_items i JOIN land l ON l.parcel_code = i.parcel_code
),
by_credit AS (
    SELECT DISTINCT i.ledger_id, k.parcel_code, 'credit_code' AS link_method
    FROM ledger_items i
    JOIN enterprises e ON e.credit_code = i.credit_code
    JOIN enterprise_links k ON k.enterprise_id = e.enterprise_id
    WHERE i.ledger_id NOT IN (SELECT ledger_id FROM by_code)
),
by_name AS (
    SELECT DISTINCT i.ledger_id, k.parcel_code, 'name' AS link_method
    FROM ledger_items i
    JOIN enterprises e ON e.name_key = i.name_key
    JOIN enterprise_links k ON k.enterprise_id = e.enterprise_id
    WHERE i.ledger_id NOT IN (SELECT ledger_id FROM by_code)
      AND i.ledger_id NOT IN (SELECT ledger_id FROM by_credit)
    UNION
    SELECT DISTINCT i.ledger_id, l.parcel_code, 'name' AS link_method
    FROM ledger_items i
    JOIN land l ON l.right_holder_key = i.name_key
    WHERE i.ledger_id NOT IN (SELECT ledger_id FROM by_code)
      AND i.ledger_id NOT IN (SELECT ledger_id FROM by_credit)
)
SELECT * FROM by_code
UNION ALL SELECT * FROM by_credit
UNION ALL SELECT * FROM by_name;
