-- enterprise → parcels (SPEC §5): its parcel codes; else land rows whose right holder has its
-- credit code; else land rows whose normalised right holder equals its normalised name.
CREATE OR REPLACE TABLE enterprise_links AS
WITH listed AS (
    SELECT enterprise_id, unnest(parcel_codes) AS parcel_code FROM enterprises
),
by_code AS (
    SELECT DISTINCT c.enterprise_id, c.parcel_code, 'parcel_code' AS link_method
    FROM listed c JOIN land l ON l.parcel_code = c.parcel_code
),
by_credit AS (
    SELECT DISTINCT e.enterprise_id, l.parcel_code, 'credit_code' AS link_method
    FROM enterprises e JOIN land l ON l.right_holder_credit_code = e.credit_code
    WHERE e.enterprise_id NOT IN (SELECT enterprise_id FROM by_code)
),
by_name AS (
    SELECT DISTINCT e.enterprise_id, l.parcel_code, 'name' AS link_method
    FROM enterprises e JOIN land l ON l.right_holder_key = e.name_key
    WHERE e.enterprise_id NOT IN (SELECT enterprise_id FROM by_code)
      AND e.enterprise_id NOT IN (SELECT enterprise_id FROM by_credit)
)
SELECT * FROM by_code
UNION ALL SELECT * FROM by_credit
UNION ALL SELECT * FROM by_name;
