-- 待核实 (SPEC §5): enterprises and ledger items linked to no parcel, listed parcel codes that are
-- not in the land data, and in-scope parcels whose plan conformity is blank, so their 四个一批 waits
-- (SPEC §7 rev. 2). Nothing disappears.
CREATE OR REPLACE TABLE unlinked AS
SELECT 'enterprise' AS dataset, e.name, e.credit_code, NULL::VARCHAR AS parcel_code, NULL::VARCHAR AS category,
       NULL::VARCHAR AS item_id,
       CASE WHEN e.credit_code IS NULL AND e.parcel_codes IS NULL THEN '企业既无统一社会信用代码也无地块编码，且名称与用地权利人不符，无法关联地块'
            ELSE '企业的地块编码、信用代码和名称均未能关联到工业用地底数中的地块' END AS reason,
       e.source_file, e.source_sheet, e.source_row
FROM enterprises e
WHERE e.enterprise_id NOT IN (SELECT enterprise_id FROM enterprise_links)
UNION ALL
SELECT 'enterprise', e.name, e.credit_code, c.code, NULL, NULL,
       '企业填报的地块编码 ' || c.code || ' 不在工业用地底数中',
       e.source_file, e.source_sheet, e.source_row
FROM enterprises e, (SELECT enterprise_id, unnest(parcel_codes) AS code FROM enterprises) c
WHERE c.enterprise_id = e.enterprise_id AND c.code NOT IN (SELECT parcel_code FROM land)
UNION ALL
SELECT 'ledger', i.name, i.credit_code, i.parcel_code, i.category, i.item_id,
       '问题隐患无法关联到地块（地块编码、信用代码、企业名称均未匹配）',
       i.source_file, i.source_sheet, i.source_row
FROM ledger_items i
WHERE i.ledger_id NOT IN (SELECT ledger_id FROM ledger_links)
UNION ALL
SELECT 'land', l.right_holder, l.right_holder_credit_code, l.parcel_code, NULL, NULL,
       '规划符合性未填，四个一批待定（暂列' || coalesce(b.batch, '—') || '）',
       l.source_file, l.source_sheet, l.source_row
FROM land l
JOIN predicates f ON f.parcel_code = l.parcel_code
LEFT JOIN batches b ON b.parcel_code = l.parcel_code
WHERE f.in_scope AND f.plan_unknown
ORDER BY 1, source_file, source_sheet, source_row;
