-- Every ledger item is where its category and links say (SPEC §3, §5, §6): linked to parcels, or
-- listed under 待核实, never both and never neither; its category is a configured one or 未定; a
-- parcel is 低散乱污 for every open major or failed item of the four categories linked to it; and
-- an item not counted at the as-of date (found later, or 未定) appears in no parcel's reasons.
SELECT i.source_file || ':' || i.source_row AS item, 'linked_xor_unlinked' AS problem
FROM ledger_items i
WHERE (i.ledger_id IN (SELECT ledger_id FROM ledger_links))
    = EXISTS (SELECT 1 FROM unlinked u WHERE u.dataset = 'ledger' AND u.source_file = i.source_file
              AND u.source_sheet = i.source_sheet AND u.source_row = i.source_row)
UNION ALL
SELECT i.source_file || ':' || i.source_row, 'category ' || i.category
FROM ledger_items i
WHERE i.category IS NULL
   OR (i.category <> '未定' AND i.category NOT IN (SELECT category FROM param_categories))
UNION ALL
SELECT k.parcel_code || ' ' || i.item_id, 'not_scattered'
FROM ledger_links k
JOIN ledger_items i ON i.ledger_id = k.ledger_id
JOIN parcels x ON x.parcel_code = k.parcel_code
WHERE i.counted AND NOT x.scattered_polluting
  AND i.category IN (SELECT category FROM param_scattered_categories)
  AND ((NOT i.closed AND i.severity_level >= (SELECT scattered_min_level FROM params)) OR i.failed)
UNION ALL
SELECT k.parcel_code || ' ' || i.item_id, 'uncounted_in_reasons'
FROM ledger_links k
JOIN ledger_items i ON i.ledger_id = k.ledger_id
JOIN parcels x ON x.parcel_code = k.parcel_code
WHERE NOT i.counted
  AND len(list_filter(x.reasons, lambda r: contains(r, i.category || coalesce(i.severity, '') || '隐患未整改（' || i.item_id || '）')
                                    OR contains(r, i.category || '隐患未整改（' || i.item_id || '）')
                                    OR contains(r, i.category || '整改不合格（' || i.item_id || '）'))) > 0;
