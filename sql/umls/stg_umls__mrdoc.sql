-- materialized: table
-- MRDOC key/value documentation: expanded forms and inverses of REL and RELA, release information.
select
    dockey,
    value,
    type,
    expl,
from raw_mrdoc
