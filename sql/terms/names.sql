-- materialized: mart
-- Every name of every kept term: the term's name (atom 0, tty PT, English) and its synonyms (tty = the scope: EXACT,
-- RELATED, BROAD, NARROW), each under its term's source. One preferred name per (concept, language), as UMLS has:
-- the name of the term that names the concept in English; in another language its first EXACT synonym, else its
-- first synonym; the merged terms' names after those of the concept's own term. Rows in input order.
with concepts as (
    select * from int_term_concepts
),

atoms as (
    select source, term_id, 0 as i, name, 'ENG' as lang, 'PT' as tty, sab, position,
    from stg_terms__terms
    union all
    select s.source, s.term_id, s.i, s.text, s.lang, s.scope, t.sab, t.position,
    from stg_terms__synonyms as s
    inner join stg_terms__terms as t on t.source = s.source and t.term_id = s.term_id
),

ranked as (
    select
        c.cui,
        a.*,
        row_number() over (
            partition by c.cui, a.lang
            order by (a.term_id = c.cui) desc, (a.i = 0) desc, (a.tty = 'EXACT') desc, a.source, a.position, a.i
        ) = 1 as is_preferred,
    from atoms as a
    inner join concepts as c on c.source = a.source and c.term_id = a.term_id
)

select
    cui,
    term_id || '#' || i as aui,
    name,
    lang,
    sab,
    tty,
    is_preferred,
    'N' as suppress,
    0::integer as srl,
from ranked
order by source, position, i
