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
    where rel <> 'CHD' and relation in (select relation from readings)
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
    select
        f.subject_cui as cui,
        arg_max(
            {'phrase': f.phrase, 'object_cui': f.object_cui},
            {'c': f.curated, 'r': round(f.ratio, 3), 'n': f.n_sources, 'h': hash(p.seed, f.subject_cui, f.object_cui)},
            (select max_relations from pair_params)
        ) as facts,
    from facts as f
    cross join params as p
    group by f.subject_cui
),

flat as (
    select
        cui,
        unnest(facts) as fact,
        generate_subscripts(facts, 1) as position,
    from top
)

select
    f.cui,
    list(f.fact.phrase || ' ' || lower_first(c.preferred_name) order by f.position) as fact_texts,
from flat as f
inner join concepts as c on c.cui = f.fact.object_cui
group by f.cui
