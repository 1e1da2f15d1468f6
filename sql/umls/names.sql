-- Every kept atom with the flags needed to pick synonyms.
select
    cui,
    aui,
    name,
    lang,
    sab,
    tty,
    is_preferred,
    suppress,
    srl,
from int_names_ranked
order by cui, aui
