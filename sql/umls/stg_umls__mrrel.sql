-- materialized: view
-- MRREL rows, all of them (int_relations_oriented filters, so the row count comes from this one parse).
-- A row "CUI1 REL CUI2 RELA" reads "CUI2 is RELA of CUI1".
select
    cui1,
    rel,
    cui2,
    coalesce(rela, '') as rela,
    sab,
    coalesce(suppress, '') as suppress,
from raw_mrrel
