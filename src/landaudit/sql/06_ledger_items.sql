-- Ledger items with a stable id, severity level, and their state at the as-of date D (SPEC §2, §6.2
-- rev. 2, §11). An item found after D does not exist yet for D (`counted` false: it keeps its link
-- rows but is in no count, list or flag); neither does an item whose category is 未定 (SPEC §3:
-- counted in no governance list until corrected). Closed: a closed status whose 销号日期, if given,
-- is on or before D; a 销号日期 beside a blank status is not a closed status (rev. 2: never guessed
-- closed; ingest lists it under 待核实). Failed: a failed status or acceptance 不合格.
CREATE OR REPLACE TABLE ledger_items AS
WITH p AS (SELECT * FROM params),
items AS (
    SELECT
        row_number() OVER (ORDER BY source_file, source_sheet, source_row) AS ledger_id,
        g.*,
        CASE g.severity WHEN '一般' THEN 1 WHEN '较大' THEN 2 WHEN '重大' THEN 3 END AS severity_level,
        coalesce(g.found_date <= (SELECT as_of FROM p), true) AS found_by_as_of,
        coalesce(g.status_state = 'closed', false)
            AND coalesce(g.closed_date <= (SELECT as_of FROM p), true) AS closed,
        coalesce(g.status_state = 'failed', false) OR coalesce(g.acceptance = '不合格', false) AS failed
    FROM ledger g
)
SELECT
    i.*,
    i.found_by_as_of AND i.category <> '未定' AS counted,
    i.found_by_as_of AND i.category <> '未定' AND NOT i.closed
        AND coalesce(i.deadline < (SELECT as_of FROM p), false) AS overdue
FROM items i;
