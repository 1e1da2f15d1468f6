-- materialized: table
-- What MRCONSO offers before any filter, per language, source, restriction level and suppressibility: extract names
-- an option that keeps nothing, or a value that matches nothing, from these few rows (umls/checks.py).
select
    lang,
    sab,
    srl,
    suppress,
    count(*) as n_atoms,
from stg_umls__mrconso
where cui is not null
group by all
order by all
