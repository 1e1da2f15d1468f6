-- materialized: mart
-- Training pairs in loss column order (anchor, positive), then metadata. Trivial pairs (same text up to case,
-- spacing and punctuation) are dropped, each concept keeps at most max_pairs_per_concept, a pair text repeated
-- across concepts is kept once, and every pair takes its concept's split. Rows are ordered by split and a seeded hash.
with params as (
    select * from pair_params
),

kind_order as (
    select * from (
        values ('definition', 1), ('llm_definition', 2), ('description', 3), ('synonym', 4)
    ) as k (kind, kind_rank)
),

capped as (
    select
        c.cui,
        c.anchor_rank,
        c.kind,
        c.positive_rank,
        k.kind_rank,
    from int_pair_candidates as c
    inner join kind_order as k on k.kind = c.kind
    cross join params as p
    where not c.trivial
    qualify row_number() over (
        partition by c.cui
        order by c.round, k.kind_rank, hash(p.seed, c.cui, c.anchor_rank, c.kind, c.positive_rank)
    ) <= p.max_pairs_per_concept
),

with_text as (
    select
        a.name as anchor,
        t.text as positive,
        c.cui,
        c.kind,
        c.kind_rank,
    from capped as c
    inner join int_anchor_names as a on a.cui = c.cui and a.name_rank = c.anchor_rank
    inner join int_concept_texts as t on t.cui = c.cui and t.kind = c.kind and t.text_rank = c.positive_rank
    union all
    select
        a.name as anchor,
        s.name as positive,
        c.cui,
        c.kind,
        c.kind_rank,
    from capped as c
    inner join int_anchor_names as a on a.cui = c.cui and a.name_rank = c.anchor_rank
    inner join int_anchor_names as s on s.cui = c.cui and s.name_rank = c.positive_rank
    where c.kind = 'synonym'
),

-- the same (anchor, positive) under two concepts needs an anchor text two concepts share: only those rows are
-- grouped (keeping the smaller cui); the others pass through untouched
shared_anchors as (
    select anchor
    from with_text
    group by anchor
    having count(distinct cui) > 1
),

deduplicated as (
    select
        w.anchor,
        w.positive,
        w.cui,
        w.kind,
        w.kind_rank,
    from with_text as w
    anti join shared_anchors as s on s.anchor = w.anchor
    -- one concept can give the same pair twice: a synonym that equals its definition (HPO has some)
    qualify row_number() over (partition by w.anchor, w.positive order by w.kind_rank) = 1
    union all
    select
        w.anchor,
        w.positive,
        min(w.cui) as cui,
        arg_min(w.kind, w.cui) as kind,
        arg_min(w.kind_rank, w.cui) as kind_rank,
    from with_text as w
    semi join shared_anchors as s on s.anchor = w.anchor
    group by w.anchor, w.positive
)

select
    d.anchor,
    d.positive,
    d.cui,
    d.kind,
    s.split,
from deduplicated as d
inner join int_concept_splits as s on s.cui = d.cui
cross join params as p
-- integer keys only: a seeded shuffle of concepts within each split, a concept's pairs together
order by
    case s.split when 'train' then 1 when 'dev' then 2 else 3 end,
    hash(p.seed, d.cui),
    d.kind_rank,
    hash(d.anchor),
    hash(d.positive)
