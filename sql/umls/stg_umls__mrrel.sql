-- MRREL rows, filtered by source and suppressibility. A row "CUI1 REL CUI2 RELA" reads "CUI2 is RELA of CUI1".
with source as (
    select * from raw_mrrel
),

params as (
    select * from run_params
)

select
    s.cui1,
    s.rel,
    s.cui2,
    s.rela,
    s.sab,
from source as s, params as p
where
    s.cui1 is not null
    and s.cui2 is not null
    and s.rel is not null
    and (not p.has_sab_filter or s.sab in (select sab from param_sabs))
    and s.sab not in (select sab from param_exclude_sabs)
    and (p.keep_suppressed or coalesce(s.suppress, '') not in ('O', 'E', 'Y'))
