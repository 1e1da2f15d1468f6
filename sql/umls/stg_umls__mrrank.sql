-- materialized: view
-- MRRANK precedence; RANK is a zero-padded string ("0912"), higher is more preferred.
select
    case
        when rank is null or try_cast(rank as integer) is not null then try_cast(rank as integer)
        else error('BAD_VALUE MRRANK RANK')
    end as rank,
    sab,
    tty,
    coalesce(suppress, '') as suppress,
from raw_mrrank
