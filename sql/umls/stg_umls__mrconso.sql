-- MRCONSO atoms, renamed and typed (no filtering here: int_atoms_kept applies the run's filters).
with source as (
    select * from raw_mrconso
)

select
    cui,
    lat as lang,
    ts,
    stt,
    ispref,
    aui,
    sab,
    tty,
    str as name,
    try_cast(srl as integer) as srl,
    coalesce(suppress, '') as suppress,
from source
