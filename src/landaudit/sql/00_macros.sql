-- Macros shared by the models. round_half_up: SPEC §6 (rev. 2) — a figure is compared as a person
-- rounds what the list shows: the double is first rounded to 12 decimals (removing binary noise:
-- 99.9 / 20 is 4.99499999… in binary, 4.995 on paper), then rounded half up as a decimal (4.995 → 5.00).
-- Figures too large for DECIMAL(38, 12) (never seen in a register) are rounded as doubles.
CREATE OR REPLACE MACRO round_half_up(x, digits) AS
    CASE WHEN abs(x) < 1e20 THEN round(CAST(x AS DECIMAL(38, 12)), digits)::DOUBLE ELSE round(x, digits) END;
