-- The inverse of each REL and RELA: MRDOC rel_inverse / rela_inverse when present, else the fixed REL pairs.
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
        b.relation,
        b.inverse,
    from (
        values
        ('CHD', 'PAR'), ('PAR', 'CHD'), ('RB', 'RN'), ('RN', 'RB'), ('AQ', 'QB'), ('QB', 'AQ'),
        ('RO', 'RO'), ('RQ', 'RQ'), ('RL', 'RL'), ('RU', 'RU'), ('SY', 'SY'), ('XR', 'XR')
    ) as b (relation, inverse)
)

select * from documented
union all
select * from builtin
where relation not in (select relation from documented where kind = 'REL')
