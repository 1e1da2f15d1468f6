-- materialized: view
-- Atoms that pass the run's filters: language, sources, suppressibility (default drops O/E/Y) and licence level.
with atoms as (
    select * from stg_umls__mrconso
),

params as (
    select * from param_run
)

select a.*
from atoms as a, params as p
where
    a.cui is not null
    and a.lang in (select lang from param_langs)
    and selected_by_filters(a.sab, a.suppress, p.has_sab_filter, p.keep_suppressed)
    and (p.max_srl is null or coalesce(a.srl, 0) <= p.max_srl)
