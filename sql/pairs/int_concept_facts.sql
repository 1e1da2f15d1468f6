-- materialized: table
-- The most informative relation facts of each concept ("has finding site femur"), at most max_relations:
-- curated phrases first, then the more specific reading, then facts more sources assert, then a seeded hash.
with params as (
    select * from pair_params
),

readings as (
    select * from int_relation_readings
),

edges as (
    select
        head_cui,
        relation,
        tail_cui,
        count(*) as n_sources,
    from relations
    where not is_a_edge(rel, relation) and relation in (select relation from readings)
    group by head_cui, relation, tail_cui
),

facts as (
    select
        e.head_cui as subject_cui,
        r.phrase,
        e.tail_cui as object_cui,
        r.curated,
        r.ratio,
        e.n_sources,
    from edges as e
    inner join readings as r on r.relation = e.relation and r.direction = 'forward'
    union all
    select
        e.tail_cui as subject_cui,
        r.phrase,
        e.head_cui as object_cui,
        r.curated,
        r.ratio,
        e.n_sources,
    from edges as e
    inner join readings as r on r.relation = e.relation and r.direction = 'backward'
),

top as (
    -- a window, not arg_max(..., n): its sort spills to disk, so 60M edges fit in a few GB
    select
        f.subject_cui as cui,
        f.phrase,
        f.object_cui,
        row_number() over (
            partition by f.subject_cui
            order by
                f.curated desc, round(f.ratio, 3) desc, f.n_sources desc,
                hash(p.seed, f.subject_cui, f.object_cui), f.object_cui, f.phrase
        ) as position,
    from facts as f
    cross join params as p
    qualify position <= p.max_relations
)

select
    t.cui,
    list(t.phrase || ' ' || lower_first(c.preferred_name) order by t.position) as fact_texts,
from top as t
inner join concepts as c on c.cui = t.object_cui
group by t.cui
