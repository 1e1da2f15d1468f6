-- materialized: table
-- How each relation said as a fact (role 'fact' in relation_phrases, sql/_kg.sql) reads in English, in both
-- directions, and how specific each reading is.
-- A reading "subject <phrase> object" is kept when it maps several subjects to few objects (ratio >= the
-- minimum): "fracture has finding site femur" is informative, "femur is finding site of <1000 findings>" is not.
with labels as (
    select * from relation_labels
),

curated as (
    select * from relation_phrases
),

informative as (
    select
        l.relation,
        l.label,
        coalesce(l.inverse, c.inverse) as inverse,
    from labels as l
    left join curated as c on c.relation = l.relation
    where coalesce(c.role, 'fact') = 'fact'
),

counts as (
    select
        relation,
        count(distinct head_cui) as n_heads,
        count(distinct tail_cui) as n_tails,
    from relations
    where not is_a_edge(rel, relation) and relation in (select relation from informative)
    group by relation
),

forward as (
    select
        i.relation,
        'forward' as direction,
        relation_phrase(c.phrase, i.label, i.relation) as phrase,
        c.phrase is not null as curated,
        k.n_heads / k.n_tails as ratio,
    from informative as i
    inner join counts as k on k.relation = i.relation
    left join curated as c on c.relation = i.relation
),

backward as (
    select
        i.relation,
        'backward' as direction,
        relation_phrase(c.phrase, il.label, i.inverse) as phrase,
        c.phrase is not null as curated,
        k.n_tails / k.n_heads as ratio,
    from informative as i
    inner join counts as k on k.relation = i.relation
    left join curated as c on c.relation = i.inverse
    left join labels as il on il.relation = i.inverse
    -- the reverse reading exists only when the inverse is known and is itself worth saying
    where i.inverse is not null and coalesce(c.role, 'fact') = 'fact'
)

select * from (
    select * from forward
    union all
    select * from backward
)
where ratio >= (select min_reading_ratio from pair_params)
