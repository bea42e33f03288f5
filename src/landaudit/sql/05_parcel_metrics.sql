-- 亩均 metrics per parcel (SPEC §5). Idle parcels (no enterprise) have tax and VA 0. A division by
-- zero or a missing input gives null, and metric_notes says why.
CREATE OR REPLACE TABLE parcel_metrics AS
WITH base AS (
    SELECT
        l.parcel_code,
        l.area_mu,
        coalesce(pe.n_enterprises, 0) AS n_enterprises,
        pe.parcel_code IS NULL AS idle,
        CASE WHEN pe.parcel_code IS NULL THEN 0.0 ELSE pe.tax END AS tax,
        CASE WHEN pe.parcel_code IS NULL THEN 0.0 ELSE pe.value_added END AS value_added,
        CASE WHEN pe.parcel_code IS NULL THEN 0.0 ELSE pe.revenue END AS revenue,
        pe.employees, pe.energy_tce, pe.rd_expense, pe.emissions
    FROM land l
    LEFT JOIN parcel_enterprises pe ON pe.parcel_code = l.parcel_code
)
SELECT
    b.*,
    b.tax / b.area_mu AS tax_per_mu,
    b.value_added / b.area_mu AS va_per_mu,
    b.revenue / b.area_mu AS revenue_per_mu,
    CASE WHEN b.employees > 0 THEN b.value_added / b.employees END AS labour_productivity,
    CASE WHEN b.energy_tce > 0 THEN b.value_added / b.energy_tce END AS energy_productivity,
    CASE WHEN b.emissions > 0 THEN b.value_added / b.emissions END AS emission_productivity,
    CASE WHEN b.revenue > 0 THEN b.rd_expense / b.revenue END AS rd_intensity,
    CASE WHEN prev.va_per_mu > 0 THEN (b.value_added / b.area_mu) / prev.va_per_mu - 1 END AS va_per_mu_growth,
    list_filter([
        CASE WHEN b.tax IS NULL THEN '税收缺失，无法计算亩均税收' END,
        CASE WHEN b.value_added IS NULL THEN '工业增加值缺失' END,
        CASE WHEN NOT b.idle AND coalesce(b.employees, 0) <= 0 THEN '从业人员缺失或为 0，无法计算劳动生产率' END,
        CASE WHEN NOT b.idle AND coalesce(b.energy_tce, 0) <= 0 THEN '综合能耗缺失或为 0，无法计算单位能耗增加值' END,
        CASE WHEN NOT b.idle AND coalesce(b.emissions, 0) <= 0 THEN '排放当量缺失或为 0，无法计算单位排放增加值' END,
        CASE WHEN NOT b.idle AND coalesce(b.revenue, 0) <= 0 THEN '营业收入缺失或为 0，无法计算研发投入强度' END,
        CASE WHEN prev.parcel_code IS NULL THEN '无上年数据，无法计算亩均增加值增速'
             WHEN coalesce(prev.va_per_mu, 0) <= 0 THEN '上年亩均增加值缺失或为 0，无法计算增速' END
    ], lambda x: x IS NOT NULL) AS metric_notes
FROM base b
LEFT JOIN prev_parcels prev ON prev.parcel_code = b.parcel_code;
