-- materialized: mart
-- Semantic types of the concepts that kept a name.
with types as (
    select * from stg_umls__mrsty
),

kept as (
    select * from int_concepts_kept
)

select distinct
    t.cui,
    t.tui,
    t.sty,
    t.stn,
from types as t
where t.cui in (select cui from kept) and t.tui is not null
order by t.cui, t.tui
