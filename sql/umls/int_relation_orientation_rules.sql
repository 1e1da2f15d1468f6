-- materialized: table
-- How to orient each documented (REL, RELA) combination: MRREL holds every edge in both directions, so each row is
-- put in one canonical direction and the pair collapses (the rule is the orientation macro in _macros.sql).
with inverses as (
    select * from int_relation_inverses
),

rels as (
    select relation as rel, inverse as inverse_rel from inverses where kind = 'REL'
),

relas as (
    select relation as rela, inverse as inverse_rela from inverses where kind = 'RELA'
    union all
    select '' as rela, null as inverse_rela
),

combos as (
    select
        r.rel,
        a.rela,
        coalesce(nullif(a.rela, ''), r.rel) as relation,
        r.inverse_rel,
        case when a.rela = '' then r.inverse_rel else a.inverse_rela end as inverse_relation,
    from rels as r
    cross join relas as a
)

select
    rel,
    rela,
    relation,
    inverse_rel,
    inverse_relation,
    orientation(rel, relation, inverse_rel, inverse_relation) as orientation,
from combos
