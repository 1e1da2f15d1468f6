-- materialized: view
-- MRSAB, current versions only (older versions are listed too).
select
    rsab as sab,
    son as name,
    sver as version,
    lat as lang,
    case
        when srl is null or try_cast(srl as integer) is not null then try_cast(srl as integer)
        else error('BAD_VALUE MRSAB SRL')
    end as srl,
from raw_mrsab
where curver = 'Y'
