-- Scopes (SPEC §12) as (scope, township) rows; a scope configured with no townships covers all.
CREATE OR REPLACE TABLE scope_townships AS
SELECT DISTINCT scope, township FROM param_scopes WHERE township IS NOT NULL
UNION
SELECT DISTINCT s.scope, l.township
FROM param_scopes s
CROSS JOIN (SELECT DISTINCT township FROM land WHERE township IS NOT NULL) l
WHERE s.township IS NULL;
