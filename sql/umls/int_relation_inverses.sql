-- materialized: table
-- The inverse of each REL and RELA: MRDOC rel_inverse / rela_inverse when present, else the standard REL pairs
-- (builtin_rel_inverses in _macros.sql).
with documented as (
    select
        case when type = 'rel_inverse' then 'REL' else 'RELA' end as kind,
        value as relation,
        any_value(expl) as inverse,
    from stg_umls__mrdoc
    where type in ('rel_inverse', 'rela_inverse') and value is not null and expl is not null
    group by all
),

builtin as (
    select
        'REL' as kind,
        unnest(map_keys(builtin_rel_inverses())) as relation,
        builtin_rel_inverse(relation) as inverse,
)

select * from documented
union all
select * from builtin
where relation not in (select relation from documented where kind = 'REL')
