-- MRRANK precedence; RANK is a zero-padded string ("0912"), higher is more preferred.
select
    cast(rank as integer) as rank,
    sab,
    tty,
    coalesce(suppress, '') as suppress,
from raw_mrrank
