-- How the KG reads in English: the one definition shared by the descriptions (sql/pairs/) and the LLM prompt facts
-- (sql/llm/facts.sql). Runs once per connection, after the seed table relation_phrases (sql/seeds/) is loaded:
--   relation, role, phrase, inverse
-- role: 'parent' (the hierarchy: "X is a kind of Y"), 'fact' (said with its phrase, or its label when it has
-- none) or 'unsaid' (lexical, mapping and bookkeeping links, and the bare REL codes). A relation the seed does not
-- list is a fact. A curated phrase wins over MRDOC / Typedef labels, which are often terse ("finding_site_of").

create or replace macro not_suppressed(s) as
    -- UMLS SUPPRESS: O (obsolete), E (editor-suppressed) and Y (suppressible) are left out; N or none is kept.
    coalesce(s, 'N') not in ('O', 'E', 'Y');

create or replace macro is_a_edge(r, rela) as
    -- "head is a kind of tail": REL CHD (UMLS, head the child) or an is-a RELA / OBO is_a. RN/RB are not parents.
    r in (select relation from relation_phrases where role = 'parent')
    or rela in (select relation from relation_phrases where role = 'parent');

create or replace macro lower_first(x) as
    -- "Leg fracture" reads as "leg fracture" inside a sentence; acronyms ("HIV infection") stay as they are.
    case when regexp_matches(x, '^\p{Lu}\p{Ll}') then lower(x[1]) || x[2:] else x end;

create or replace macro with_article(x) as
    case when regexp_matches(lower(x), '^[aeiou]') then 'an ' else 'a ' end || x;

create or replace macro said(subject, predicate) as
    -- "Varicella is a disease." or, without a subject, "A disease." (the predicate then opens the sentence)
    case
        when subject is null then upper(predicate[1]) || predicate[2:] || '.'
        else subject || ' is ' || predicate || '.'
    end;

create or replace macro join_and(l) as
    -- ['a'] -> 'a'; ['a', 'b', 'c'] -> 'a, b and c'
    case
        when len(l) = 0 then null
        when len(l) = 1 then l[1]
        else array_to_string(l[1:len(l) - 1], ', ') || ' and ' || l[len(l)]
    end;

create or replace macro humanize_relation(x) as
    -- "has_finding_site" -> "has finding site"; "part_of" -> "is part of" (a bare "... of/by" needs a verb).
    case
        when regexp_matches(lower(replace(trim(x), '_', ' ')), '^(is|has|have|was|are|may|can|does|do) ')
            then lower(replace(trim(x), '_', ' '))
        when regexp_matches(lower(replace(trim(x), '_', ' ')), ' (of|by)$')
            then 'is ' || lower(replace(trim(x), '_', ' '))
        else lower(replace(trim(x), '_', ' '))
    end;

create or replace macro relation_phrase(curated, label, rela) as
    -- the seed's phrase, else the KG's label, else the relation's own name, made to read as a verb phrase
    coalesce(curated, humanize_relation(coalesce(label, rela)));
