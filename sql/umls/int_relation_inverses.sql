-- The inverse of each REL and RELA: MRDOC rel_inverse / rela_inverse when present, else the fixed REL pairs.
with documented as (
    select
        value as relation,
        expl as inverse,
    from stg_umls__mrdoc
    where type in ('rel_inverse', 'rela_inverse') and value is not null and expl is not null
),

builtin as (
    select * from (
        values
        ('CHD', 'PAR'), ('PAR', 'CHD'), ('RB', 'RN'), ('RN', 'RB'), ('AQ', 'QB'), ('QB', 'AQ'),
        ('RO', 'RO'), ('RQ', 'RQ'), ('RL', 'RL'), ('RU', 'RU'), ('SY', 'SY'), ('XR', 'XR')
    ) as b (relation, inverse)
)

select relation, any_value(inverse) as inverse from documented group by relation
union all
select b.relation, b.inverse from builtin as b
where b.relation not in (select relation from documented)
