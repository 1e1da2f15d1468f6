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

non_trivial as (
    select c.*
    from int_pair_candidates as c
    where trim(c.anchor) <> '' and trim(c.positive) <> '' and c.anchor_norm is distinct from c.positive_norm
),

capped as (
    select n.*
    from non_trivial as n
    inner join kind_order as k on k.kind = n.kind
    cross join params as p
    qualify row_number() over (
        partition by n.cui order by n.round, k.kind_rank, hash(p.seed, n.anchor, n.positive)
    ) <= p.max_pairs_per_concept
),

-- the same (anchor, positive) under two concepts needs an anchor text two concepts share: only those rows are
-- grouped (keeping the smaller cui); the others pass through untouched
shared_anchors as (
    select anchor
    from capped
    group by anchor
    having count(distinct cui) > 1
),

deduplicated as (
    select
        c.anchor,
        c.positive,
        c.cui,
        c.kind,
    from capped as c
    anti join shared_anchors as s on s.anchor = c.anchor
    union all
    select
        c.anchor,
        c.positive,
        min(c.cui) as cui,
        arg_min(c.kind, c.cui) as kind,
    from capped as c
    semi join shared_anchors as s on s.anchor = c.anchor
    group by c.anchor, c.positive
)

select
    d.anchor,
    d.positive,
    d.cui,
    d.kind,
    s.split,
from deduplicated as d
inner join int_concept_splits as s on s.cui = d.cui
inner join kind_order as k on k.kind = d.kind
cross join params as p
-- integer keys only: a seeded shuffle of concepts within each split, a concept's pairs together
order by
    case s.split when 'train' then 1 when 'dev' then 2 else 3 end,
    hash(p.seed, d.cui),
    k.kind_rank,
    hash(d.anchor),
    hash(d.positive)
