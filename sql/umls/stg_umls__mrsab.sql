-- MRSAB, current versions only (older versions are listed too).
select
    rsab as sab,
    son as name,
    sver as version,
    lat as lang,
    try_cast(srl as integer) as srl,
from raw_mrsab
where curver = 'Y'
