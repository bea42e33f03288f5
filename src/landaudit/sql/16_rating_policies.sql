-- 资源要素差别化配置 (SPEC §8, 四、(五)): each class's configured policies with how many parcels
-- and 亩 the class holds this year.
CREATE OR REPLACE TABLE rating_policies AS
SELECT
    p.rating, p.resource, p.policy,
    count(x.parcel_code) AS parcels,
    coalesce(sum(x.area_mu ORDER BY x.parcel_code), 0) AS area_mu
FROM param_policies p
LEFT JOIN parcels x ON x.rating = p.rating
GROUP BY p.rating, p.resource, p.policy, p.policy_order
ORDER BY p.policy_order;
