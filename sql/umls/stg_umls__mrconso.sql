-- materialized: table
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
    code,
    -- A NUL byte is binary data that would reach the training pairs; a licence level that is not a number must not
    -- pass --max-srl as 0. error() names the file and column; Python then finds the line (register.translate_error).
    case when contains(str, chr(0)) then error('BAD_VALUE MRCONSO STR') else str end as name,
    case
        when srl is null or try_cast(srl as integer) is not null then try_cast(srl as integer)
        else error('BAD_VALUE MRCONSO SRL')
    end as srl,
    coalesce(suppress, '') as suppress,
from source
