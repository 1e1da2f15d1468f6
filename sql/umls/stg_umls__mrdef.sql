-- materialized: view
-- MRDEF definitions, filtered by the run's source, language, suppressibility and emptiness rules. MRDEF has no
-- language column: a definition is in its source's language (MRSAB LAT, e.g. MSHSPA is SPA), so a KG extracted
-- without --lang SPA keeps no Spanish definition to be mistaken for an English one.
with source as (
    select * from raw_mrdef
),

params as (
    select * from param_run
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
    and selected_by_filters(s.sab, s.suppress, p.has_sab_filter, p.keep_suppressed)
    and s.sab not in (select sab from stg_umls__mrsab where lang not in (select lang from param_langs))
