-- MRDEF definitions, filtered by the run's source, suppressibility and emptiness rules.
with source as (
    select * from raw_mrdef
),

params as (
    select * from run_params
)

select
    s.cui,
    s.aui,
    s.atui,
    s.sab,
    case when contains(s.def, chr(0)) then error('BAD_VALUE MRDEF DEF') else s.def end as definition,
from source as s, params as p
where
    s.def is not null
    and trim(s.def) <> ''
    and (not p.has_sab_filter or s.sab in (select sab from param_sabs))
    and s.sab not in (select sab from param_exclude_sabs)
    and (p.keep_suppressed or coalesce(s.suppress, '') not in ('O', 'E', 'Y'))
