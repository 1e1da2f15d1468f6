-- MRREL holds each edge in both directions; express every row in one canonical direction so the pair collapses.
-- A row "CUI1 REL CUI2 RELA" becomes head = CUI2, relation = RELA or REL, tail = CUI1 ("CUI2 is RELA of CUI1").
-- Canonical: child/narrower as head (CHD, RN); otherwise the non-"inverse_" name, then the "has_" name
-- (has_finding_site, has_ingredient: the disease or drug as head), else the smaller name; for symmetric
-- relations the smaller cui as head. A row is flipped only when its inverse is known.
with rels as (
    select * from stg_umls__mrrel
),

inverses as (
    select * from int_relation_inverses
),

kept as (
    select distinct cui from int_names_ranked
),

edges as (
    select
        r.cui2 as head_cui,
        coalesce(r.rela, r.rel) as relation,
        r.rel,
        r.cui1 as tail_cui,
        r.sab,
        ir.inverse as inverse_rel,
        case when r.rela is null then ir.inverse else ia.inverse end as inverse_relation,
    from rels as r
    left join inverses as ir on ir.relation = r.rel
    left join inverses as ia on ia.relation = r.rela
    where
        r.cui1 <> r.cui2
        and r.cui1 in (select cui from kept)
        and r.cui2 in (select cui from kept)
),

decided as (
    select
        *,
        inverse_rel is not null and inverse_relation is not null and (
            case
                when rel in ('CHD', 'RN') then false
                when rel in ('PAR', 'RB') then true
                when relation = inverse_relation then head_cui > tail_cui
                when starts_with(relation, 'inverse_') then true
                when starts_with(inverse_relation, 'inverse_') then false
                when starts_with(relation, 'has_') <> starts_with(inverse_relation, 'has_')
                    then starts_with(inverse_relation, 'has_')
                else relation > inverse_relation
            end
        ) as flip,
    from edges
)

select
    case when flip then tail_cui else head_cui end as head_cui,
    case when flip then inverse_relation else relation end as relation,
    case when flip then inverse_rel else rel end as rel,
    case when flip then head_cui else tail_cui end as tail_cui,
    sab,
from decided
