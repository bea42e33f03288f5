-- Every reason phrase matches a true flag and every true flag has its reason (SPEC §6: every flag
-- carries its reasons). Selects (parcel, what disagrees).
SELECT parcel_code, 'low_efficiency' AS problem FROM parcels
WHERE low_efficiency <> (len(low_efficiency_reasons) > 0)
UNION ALL
SELECT parcel_code, 'scattered_polluting' FROM parcels
WHERE scattered_polluting <> (len(scattered_reasons) > 0)
   OR scattered_polluting <> (open_major_hazard OR failed_rectification)
UNION ALL
SELECT parcel_code, 'collective_problem' FROM parcels
WHERE collective_problem <> (len(collective_reasons) > 0)
   OR (collective_problem AND NOT collective)
   OR len(list_filter(collective_reasons, lambda r: NOT starts_with(r, '集体土地：'))) > 0
UNION ALL
SELECT parcel_code, 'collective_problem.' || condition FROM (
    SELECT parcel_code, collective_problem, collective_reasons, unnest([
        {'condition': 'no_legal_procedures', 'flag': no_legal_procedures, 'phrase': '无合法用地手续'},
        {'condition': 'low_plot_ratio', 'flag': low_plot_ratio, 'phrase': '土地利用率低'},
        {'condition': 'poor_building', 'flag': poor_building, 'phrase': '建筑'},
        {'condition': 'open_safety_env_hazard', 'flag': open_safety_env_hazard, 'phrase': '安全环保隐患大'},
        {'condition': 'loose_management', 'flag': loose_management, 'phrase': '管理松散'},
        {'condition': 'frequent_petitions', 'flag': frequent_petitions, 'phrase': '信访问题多发'}
    ], recursive := true)
    FROM parcels
)
WHERE collective_problem
  AND flag <> (len(list_filter(collective_reasons, lambda r: contains(r, phrase))) > 0)
UNION ALL
SELECT parcel_code, 'backward_capacity' FROM parcels
WHERE backward_capacity <> (len(list_filter(reasons, lambda r: starts_with(r, '落后产能'))) > 0)
UNION ALL
SELECT parcel_code, 'reasons' FROM parcels
WHERE len(reasons) <> len(low_efficiency_reasons) + len(scattered_reasons) + len(collective_reasons)
                      + CASE WHEN backward_capacity THEN 1 ELSE 0 END
   OR in_scope <> (len(reasons) > 0);
