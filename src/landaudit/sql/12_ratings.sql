-- 亩均效益综合评价 A/B/C/D (SPEC §8). Groups: 规上 units (any enterprise above scale) and 规下
-- units; exempt units are not ranked (不定等级, managed as B). Units whose indicators are all zero
-- or missing (idle parcels, enterprises that produced nothing) are D outright (rev. 2) and take no
-- part in the group means, n or the ranks. Indicator values are rounded to 4 decimals before
-- scoring and scores to 2 before ranking, so float noise never splits a tie.
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
zero_output AS (
    SELECT parcel_code, grp, coalesce(bool_and(coalesce(value, 0) = 0), true) AS zero_output
    FROM indicator_values
    GROUP BY parcel_code, grp
),
rated AS (
    SELECT v.* FROM indicator_values v JOIN zero_output z USING (parcel_code, grp) WHERE NOT z.zero_output
),
benchmarked AS (
    SELECT *, coalesce(benchmark, avg(value) OVER (PARTITION BY grp, indicator ORDER BY parcel_code
                                           ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING))
            AS benchmark_used
    FROM rated
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
    CASE WHEN z.zero_output THEN 0.0 ELSE r.score END AS rating_score,
    r.rating_rank,
    r.group_size AS rating_group_size,
    coalesce(z.zero_output, false) AS zero_output,
    CASE
        WHEN u.grp IS NULL THEN '不定等级'
        WHEN z.zero_output THEN 'D'        -- 零产出，直接列为D类 (SPEC §8 rev. 2)
        WHEN r.rating_rank::DOUBLE / r.group_size <= (SELECT cutoff_a FROM params) THEN 'A'
        WHEN r.rating_rank::DOUBLE / r.group_size <= (SELECT cutoff_b FROM params) THEN 'B'
        WHEN r.rating_rank::DOUBLE / r.group_size <= (SELECT cutoff_c FROM params) THEN 'C'
        ELSE 'D'
    END AS rating
FROM units u
LEFT JOIN zero_output z ON z.parcel_code = u.parcel_code
LEFT JOIN ranked r ON r.parcel_code = u.parcel_code;
