-- 亩均效益综合评价 A/B/C/D (SPEC §8). Groups: 规上 units (any enterprise above scale) and 规下
-- units (idle parcels included, score 0); exempt units are not ranked (不定等级, managed as B).
-- Indicator values are rounded to 4 decimals before scoring and scores to 2 before ranking.
CREATE OR REPLACE TABLE ratings AS
WITH units AS (
    SELECT parcel_code,
           CASE WHEN exempt THEN NULL WHEN above_scale THEN 'above_scale' ELSE 'below_scale' END AS grp
    FROM predicates
),
indicator_values AS (
    SELECT
        u.parcel_code, u.grp, w.indicator, w.weight, w.benchmark,
        round(CASE w.indicator
            WHEN 'tax_per_mu' THEN m.tax_per_mu
            WHEN 'va_per_mu' THEN m.va_per_mu
            WHEN 'revenue_per_mu' THEN m.revenue_per_mu
            WHEN 'labour_productivity' THEN m.labour_productivity
            WHEN 'energy_productivity' THEN m.energy_productivity
            WHEN 'emission_productivity' THEN m.emission_productivity
            WHEN 'rd_intensity' THEN m.rd_intensity
        END, 4) AS value
    FROM units u
    JOIN rating_weights w ON w.grp = u.grp
    JOIN parcel_metrics m ON m.parcel_code = u.parcel_code
),
benchmarked AS (
    SELECT *, coalesce(benchmark, avg(value) OVER (PARTITION BY grp, indicator ORDER BY parcel_code
                                           ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING))
            AS benchmark_used
    FROM indicator_values
),
scored AS (
    SELECT
        parcel_code, grp,
        round(sum(CASE WHEN value IS NOT NULL AND benchmark_used > 0
                       THEN weight * least(value / benchmark_used, (SELECT rating_cap FROM params))
                       ELSE 0 END ORDER BY indicator), 2) AS score
    FROM benchmarked
    GROUP BY parcel_code, grp
),
ranked AS (
    SELECT *,
           rank() OVER (PARTITION BY grp ORDER BY score DESC) AS rating_rank,
           count(*) OVER (PARTITION BY grp) AS group_size
    FROM scored
)
SELECT
    u.parcel_code,
    CASE u.grp WHEN 'above_scale' THEN '规上' WHEN 'below_scale' THEN '规下' END AS rating_group,
    r.score AS rating_score,
    r.rating_rank,
    r.group_size AS rating_group_size,
    CASE
        WHEN u.grp IS NULL THEN '不定等级'
        WHEN r.rating_rank::DOUBLE / r.group_size <= (SELECT cutoff_a FROM params) THEN 'A'
        WHEN r.rating_rank::DOUBLE / r.group_size <= (SELECT cutoff_b FROM params) THEN 'B'
        WHEN r.rating_rank::DOUBLE / r.group_size <= (SELECT cutoff_c FROM params) THEN 'C'
        ELSE 'D'
    END AS rating
FROM units u
LEFT JOIN ranked r ON r.parcel_code = u.parcel_code;
