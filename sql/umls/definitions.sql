-- materialized: mart
-- One definition per (cui, source atom) for the concepts that kept a name.
with defs as (
    select * from stg_umls__mrdef
),

kept as (
    select * from int_concepts_kept
),

numbered as (
    select
        d.cui,
        d.aui as source_id,
        d.sab,
        d.definition,
        row_number() over (partition by d.cui, d.aui order by d.atui, d.definition) as n,
    from defs as d
    where d.cui in (select cui from kept) and d.aui is not null
)

select
    cui,
    source_id,
    sab,
    definition,
    'umls' as origin,
from numbered
where n = 1
order by cui, source_id
