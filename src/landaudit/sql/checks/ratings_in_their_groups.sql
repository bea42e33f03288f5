-- Ratings only in their groups (SPEC §8): 规上 units are parcels with an enterprise above scale,
-- 规下 the others; exempt units are 不定等级 and ungrouped; zero-output units are D and unranked.
SELECT parcel_code, coalesce(rating, '（无）') || '/' || coalesce(rating_group, '（无）') AS problem FROM parcels
WHERE rating IS NULL
   OR rating NOT IN ('A', 'B', 'C', 'D', '不定等级')
   OR (rating = '不定等级') <> exempt
   OR coalesce(rating_group = '规上', false) <> (above_scale AND NOT exempt)
   OR coalesce(rating_group = '规下', false) <> (NOT above_scale AND NOT exempt)
   OR (zero_output AND rating <> 'D')
   OR (idle AND rating <> 'D')
   OR (rating_rank IS NULL) <> (exempt OR zero_output)
   OR (rating_rank IS NOT NULL AND (rating_rank < 1 OR rating_rank > rating_group_size));
