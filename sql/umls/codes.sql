-- materialized: mart
-- The source codes of the kept atoms (the same filters as names), so that a MeSH, SNOMED CT, ICD or OMIM code maps
-- to its concept. Several atoms share a code (a heading and its entry terms): one row per (cui, sab, code). NOCODE
-- and empty codes are UMLS placeholders for atoms that have no code in their source.
with atoms as (
    select * from int_atoms_kept
)

select distinct
    cui,
    sab,
    code,
    'atom' as source,
from atoms
where code is not null and code not in ('', 'NOCODE')
order by cui, sab, code
