-- materialized: mart
-- The sources of the kept atoms, with MRSAB's name, version and licence restriction level when available.
with atoms as (
    select
        sab,
        count(*) as n_atoms,
        max(srl) as max_srl,
        mode(lang) as lang,
    from names
    group by sab
),

sab as (
    select
        *,
        row_number() over (partition by sab order by version desc) as n,
    from int_source_versions
)

select
    a.sab,
    s.name,
    s.version,
    coalesce(s.lang, a.lang) as lang,
    coalesce(s.srl, a.max_srl) as srl,
    a.n_atoms,
from atoms as a
left join sab as s on s.sab = a.sab and s.n = 1
order by a.sab
