-- materialized: view
-- MRSTY semantic types.
select
    cui,
    tui,
    stn,
    sty,
from raw_mrsty
