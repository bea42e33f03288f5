-- Ledger items with a stable id, severity level, and closed / failed / overdue as of the run date
-- (SPEC §6.2, §11). Closed: a closed status, or a 销号日期 with no status at all.
CREATE OR REPLACE TABLE ledger_items AS
WITH items AS (
    SELECT
        row_number() OVER (ORDER BY source_file, source_sheet, source_row) AS ledger_id,
        g.*,
        CASE g.severity WHEN '一般' THEN 1 WHEN '较大' THEN 2 WHEN '重大' THEN 3 END AS severity_level,
        coalesce(g.status IN (SELECT status FROM param_closed_statuses), false)
            OR (g.status IS NULL AND g.closed_date IS NOT NULL) AS closed,
        coalesce(g.status = '整改不合格', false) OR coalesce(g.acceptance = '不合格', false) AS failed
    FROM ledger g
)
SELECT i.*, NOT i.closed AND coalesce(i.deadline < (SELECT as_of FROM params), false) AS overdue
FROM items i;
