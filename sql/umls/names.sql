-- materialized: mart
-- Every kept atom with the flags needed to pick synonyms. One preferred atom per (cui, lang): the TS=P / STT=PF /
-- ISPREF=Y atom; when filtering removed it, the best MRRANK rank of (sab, tty, suppress); ties broken by aui so
-- reruns agree. Later steps (int_concepts_kept, concepts, sources) read this mart back rather than a staged copy.
with atoms as (
    select * from int_atoms_kept
),

ranks as (
    select * from stg_umls__mrrank
),

ranked as (
    select
        a.*,
        row_number() over (
            partition by a.cui, a.lang
            order by
                (a.ts = 'P' and a.stt = 'PF' and a.ispref = 'Y') desc,
                coalesce(r.rank, -1) desc,
                a.aui
        ) = 1 as is_preferred,
    from atoms as a
    left join ranks as r
        on
            r.sab = a.sab
            and r.tty = a.tty
            -- MRRANK lists SUPPRESS N and Y only: obsolete (O) and editor-suppressed (E) atoms rank as Y.
            and r.suppress = (case when a.suppress in ('N', '') then 'N' else 'Y' end)
)

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
from ranked
order by cui, aui
