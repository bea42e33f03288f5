-- Each enterprise's share of its figures per linked parcel, in proportion to parcel area (SPEC §5).
CREATE OR REPLACE TABLE enterprise_shares AS
SELECT
    k.enterprise_id,
    k.parcel_code,
    k.link_method,
    l.area_mu / sum(l.area_mu) OVER (PARTITION BY k.enterprise_id ORDER BY k.parcel_code
                                      ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS share
FROM enterprise_links k
JOIN land l ON l.parcel_code = k.parcel_code;
