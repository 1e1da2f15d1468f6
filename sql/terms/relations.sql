-- materialized: mart
-- is_a (REL CHD: the head is the child) and other relationships (RO) between kept terms of one source, on their
-- concepts; an edge to a term not kept (obsolete, or in no input) is dropped, and so is one that a merge made a loop.
with concepts as (
    select * from int_term_concepts
),

edges as (
    select
        h.cui as head_cui,
        e.relation,
        case when e.relation = 'is_a' then 'CHD' else 'RO' end as rel,
        t.cui as tail_cui,
        ht.sab,
    from stg_terms__edges as e
    inner join concepts as h on h.source = e.source and h.term_id = e.term_id
    inner join concepts as t on t.source = e.source and t.term_id = e.target
    inner join stg_terms__terms as ht on ht.source = e.source and ht.term_id = e.term_id
)

select distinct head_cui, relation, rel, tail_cui, sab,
from edges
where head_cui <> tail_cui
order by head_cui, relation, rel, tail_cui, sab
