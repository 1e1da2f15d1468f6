-- materialized: table
-- One split per concept (never per pair): md5 of (seed, cui) is stable across runs, machines and DuckDB versions.
with params as (
    select * from pair_params
),

bucketed as (
    select
        c.cui,
        md5_number_lower(p.seed::varchar || ':' || c.cui) % 100 as bucket,
        p.train_pct,
        p.dev_pct,
    from concepts as c
    cross join params as p
)

select
    cui,
    case
        when bucket < train_pct then 'train'
        when bucket < train_pct + dev_pct then 'dev'
        else 'test'
    end as split,
from bucketed
