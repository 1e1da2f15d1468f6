-- materialized: mart
-- KG linking evaluation: synonyms of held-out (dev/test) concepts as queries, to be linked to their concept among
-- all concepts. A query differs from its concept's preferred name (after normalisation) and names no other concept.
with params as (
    select * from pair_params
),

held_out as (
    select cui, split from int_concept_splits where split in ('dev', 'test')
),

form_owners as (
    select
        norm,
        count(distinct cui) as n_concepts,
    from int_anchor_names
    group by norm
),

queries as (
    select
        a.name as query,
        a.cui,
        h.split,
        hash(p.seed, a.cui, a.name) as draw,
    from int_anchor_names as a
    inner join held_out as h on h.cui = a.cui
    inner join form_owners as f on f.norm = a.norm
    cross join params as p
    where a.name_rank > 1 and f.n_concepts = 1
)

select
    query,
    cui,
    split,
from queries
qualify row_number() over (partition by cui order by draw, query) <= (select max_linking_queries from pair_params)
order by split, cui, query
