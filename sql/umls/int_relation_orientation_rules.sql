-- How to orient each (REL, RELA) combination: MRREL holds every edge in both directions, so each row is put in
-- one canonical direction and the pair collapses. Canonical: child/narrower as head (CHD, RN); otherwise the
-- non-"inverse_" name, then the "has_" name (has_finding_site, has_ingredient: the disease or drug as head), else
-- the smaller name; symmetric relations put the smaller cui first ('by_cui'). Unknown inverses: kept as read.
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
    case
        when inverse_rel is null or inverse_relation is null then 'keep'
        when rel in ('CHD', 'RN') then 'keep'
        when rel in ('PAR', 'RB') then 'flip'
        when relation = inverse_relation then 'by_cui'
        when starts_with(relation, 'inverse_') then 'flip'
        when starts_with(inverse_relation, 'inverse_') then 'keep'
        when starts_with(relation, 'has_') <> starts_with(inverse_relation, 'has_')
            then (case when starts_with(inverse_relation, 'has_') then 'flip' else 'keep' end)
        when relation > inverse_relation then 'flip'
        else 'keep'
    end as orientation,
from combos
