-- in_scope ⇔ batch is set (SPEC §7: every in-scope parcel gets one of the four batches, no other).
SELECT parcel_code, coalesce(batch, '（无）') AS problem FROM parcels
WHERE in_scope <> (batch IS NOT NULL)
   OR in_scope <> (low_efficiency OR scattered_polluting OR collective_problem OR backward_capacity)
   OR (batch IS NOT NULL AND batch NOT IN ('整治提升', '拆除重建', '功能转型', '关停退出'));
