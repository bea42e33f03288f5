-- Enterprises with a stable id (source order), exemption and industry-direction flags (SPEC §6.1, §7.2).
CREATE OR REPLACE TABLE enterprises AS
SELECT
    row_number() OVER (ORDER BY source_file, source_sheet, source_row) AS enterprise_id,
    e.*,
    coalesce(trim(e.exempt_reason), '') <> '' AS exempt,
    coalesce(e.industry_direction_ok = false, false)
        OR EXISTS (SELECT 1 FROM param_against_codes p WHERE starts_with(e.industry_code, p.code_prefix))
        AS against_direction
FROM enterprise e;
