"""Generate a synthetic UMLS META folder at any scale (1.0 = 2025AA: MRCONSO 17.1M rows, MRREL 62.9M,
MRSTY 3.8M, MRDEF 0.47M) with realistic field widths and value mixes, written by DuckDB.

Usage: python benchmarks/synth_meta.py OUT_DIR [--scale 0.1]

Rows are grouped by concept as in a release (about 4.9 atoms a concept, the first one its TS=P/STT=PF/ISPREF=Y
English atom); MRREL holds each edge in both directions (REL and RELA inverted) as real MRREL does. The strings are
built from a medical word list, so they compress less than repeated rows would.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import duckdb

FULL = {"MRCONSO": 17_144_356, "MRREL": 62_908_136, "MRSTY": 3_798_191, "MRDEF": 466_842}
N_CUI_FULL = 3_500_000

WORDS = (
    "acute chronic syndrome disease disorder infection carcinoma fracture injury pain fever lesion tumor benign "
    "malignant primary secondary left right upper lower anterior posterior femur tibia heart lung liver kidney "
    "brain spinal cord artery vein nerve muscle bone skin eye ear nose throat gastric colon rectal renal hepatic "
    "cardiac pulmonary cerebral vascular congenital hereditary drug induced allergic viral bacterial fungal "
    "parasitic toxic metabolic deficiency excess hormone receptor protein enzyme gene mutation antibody antigen "
    "cell tissue organ structure procedure surgery biopsy excision repair replacement therapy dose tablet oral "
    "injection solution capsule mg ml extended release topical ophthalmic of with without and due to unspecified "
    "other NOS type 1 2 stage grade severe mild moderate"
).split()

SABS = [  # (sab, lat, srl, weight) — roughly the 2025AA mix of atoms by source
    ("MSH", "ENG", 0, 10),
    ("SNOMEDCT_US", "ENG", 9, 14),
    ("RXNORM", "ENG", 0, 6),
    ("MEDCIN", "ENG", 3, 9),
    ("NCI", "ENG", 0, 5),
    ("LNC", "ENG", 0, 8),
    ("ICD10CM", "ENG", 4, 2),
    ("MDR", "ENG", 3, 3),
    ("GO", "ENG", 0, 2),
    ("HPO", "ENG", 0, 1),
    ("OMIM", "ENG", 0, 1),
    ("MTH", "ENG", 0, 3),
    ("MSHSPA", "SPA", 3, 5),
    ("MSHFRE", "FRE", 3, 3),
    ("MSHGER", "GER", 3, 3),
    ("MDRJPN", "JPN", 3, 4),
    ("MSHPOR", "POR", 3, 3),
    ("LNC-ZH-CN", "CHI", 0, 3),
    ("SCTSPA", "SPA", 9, 4),
    ("MSHDUT", "DUT", 3, 2),
]
TTYS = ["PT", "SY", "ET", "FN", "MH", "PM", "IN", "SCD", "LN", "AB", "OP", "IS", "LLT", "HT"]
RELS = [
    ("CHD", "PAR", 12),
    ("RB", "RN", 8),
    ("RO", "RO", 45),
    ("SY", "SY", 15),
    ("AQ", "QB", 6),
    ("RQ", "RQ", 8),
    ("RL", "RL", 3),
    ("RU", "RU", 3),
]
RELAS = [
    ("", ""),
    ("", ""),
    ("", ""),
    ("isa", "inverse_isa"),
    ("has_ingredient", "ingredient_of"),
    ("mapped_to", "mapped_from"),
    ("has_finding_site", "finding_site_of"),
    ("translation_of", "has_translation"),
    ("has_tradename", "tradename_of"),
    ("permuted_term_of", "has_permuted_term"),
    ("classifies", "classified_as"),
    ("has_causative_agent", "causative_agent_of"),
]
STYS = [
    ("T047", "B2.2.1.2.1", "Disease or Syndrome"),
    ("T121", "A1.4.1.1.1", "Pharmacologic Substance"),
    ("T109", "A1.4.1.2.1", "Organic Chemical"),
    ("T061", "B1.3.1.3", "Therapeutic or Preventive Procedure"),
    ("T033", "A2.2", "Finding"),
    ("T023", "A1.2.3.1", "Body Part, Organ, or Organ Component"),
    ("T116", "A1.4.1.2.1.7", "Amino Acid, Peptide, or Protein"),
    ("T201", "A2.3", "Clinical Attribute"),
    ("T037", "B2.3", "Injury or Poisoning"),
    ("T191", "B2.2.1.2.1.2", "Neoplastic Process"),
]


def _list(values) -> str:
    return "[" + ", ".join("'" + str(v).replace("'", "''") + "'" for v in values) + "]"


def _weighted(items, weight_index) -> list:
    out = []
    for item in items:
        out += [item] * item[weight_index]
    return out


def generate(out: Path, scale: float = 1.0, threads: int | None = None) -> dict[str, int]:
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {threads}")
    n = {k: max(10, int(v * scale)) for k, v in FULL.items()}
    n_cui = max(5, int(N_CUI_FULL * scale))
    sabs = _weighted(SABS, 3)
    rels = _weighted(RELS, 2)
    words = _list(WORDS)
    con.execute(f"CREATE MACRO w(i) AS list_element({words}, (hash(i) % {len(WORDS)})::INT + 1)")
    # 2 to 7 words: about 39 characters on average, as MRCONSO.STR in 2025AA.
    con.execute(
        "CREATE MACRO phrase(i) AS concat_ws(' ', w(i), w(i + 1), CASE WHEN hash(i) % 6 > 0 THEN w(i + 2) END, "
        "CASE WHEN hash(i) % 6 > 1 THEN w(i + 3) END, CASE WHEN hash(i) % 6 > 2 THEN w(i + 4) END, "
        "CASE WHEN hash(i) % 6 > 3 THEN w(i + 5) END, CASE WHEN hash(i) % 6 > 4 THEN w(i + 6) END)"
    )
    con.execute("CREATE MACRO cui(i) AS 'C' || lpad(i::VARCHAR, 7, '0')")
    sab_sab = _list(s[0] for s in sabs)
    sab_lat = _list(s[1] for s in sabs)
    sab_srl = _list(s[2] for s in sabs)
    copy = "(DELIMITER '|', HEADER false, QUOTE '', ESCAPE '', NULLSTR '')"

    def write(name: str, select: str) -> None:
        t = time.perf_counter()
        con.execute(f"COPY ({select}) TO '{out / (name + '.RRF')}' {copy}")
        print(f"  {name}.RRF {time.perf_counter() - t:.1f} s", flush=True)

    # MRCONSO: atom i belongs to concept floor(i * n_cui / n_atoms); the first atom of a concept is its P/PF/Y one.
    write(
        "MRCONSO",
        f"""
        WITH a AS (SELECT i, (i * {n_cui} // {n["MRCONSO"]}) AS c,
                          i = 0 OR (i * {n_cui} // {n["MRCONSO"]}) <> ((i - 1) * {n_cui} // {n["MRCONSO"]}) AS first,
                          (hash(i * 7) % {len(sabs)})::INT + 1 AS s
                   FROM range({n["MRCONSO"]}) t(i))
        SELECT cui(c), CASE WHEN first THEN 'ENG' ELSE list_element({sab_lat}, s) END,
               CASE WHEN first OR hash(i) % 5 = 0 THEN 'P' ELSE 'S' END, 'L' || lpad((i // 2)::VARCHAR, 8, '0'),
               CASE WHEN first THEN 'PF' ELSE list_element(['PF', 'PF', 'VO', 'VC', 'VCW', 'VW'], (hash(i) % 6)::INT + 1) END,
               'S' || lpad(i::VARCHAR, 8, '0'), CASE WHEN first OR hash(i + 1) % 3 = 0 THEN 'Y' ELSE 'N' END,
               'A' || lpad(i::VARCHAR, 8, '0'), CASE WHEN hash(i) % 3 = 0 THEN (hash(i) % 99999999)::VARCHAR END,
               CASE WHEN hash(i) % 2 = 0 THEN (hash(i + 3) % 999999999)::VARCHAR END,
               CASE WHEN hash(i) % 4 = 0 THEN 'D' || lpad((hash(i) % 999999)::VARCHAR, 6, '0') END,
               CASE WHEN first THEN 'MSH' ELSE list_element({sab_sab}, s) END,
               CASE WHEN first THEN 'MH' ELSE list_element({_list(TTYS)}, (hash(i + 5) % {len(TTYS)})::INT + 1) END,
               (hash(i + 11) % 99999999)::VARCHAR, phrase(i),
               CASE WHEN first THEN '0' ELSE list_element({sab_srl}, s)::VARCHAR END,
               CASE WHEN first THEN 'N' ELSE list_element(['N','N','N','N','N','N','N','N','N','N','N','N','N','N',
                    'N','N','O','Y','Y','E'], (hash(i + 13) % 20)::INT + 1) END,
               CASE WHEN hash(i) % 4 = 0 THEN '256' END, ''
        FROM a""",
    )
    # MRREL: each edge twice, the second row the inverse of the first (as real MRREL stores both directions).
    rel_a = _list(r[0] for r in rels)
    rel_b = _list(r[1] for r in rels)
    rela_a = _list(r[0] for r in RELAS)
    rela_b = _list(r[1] for r in RELAS)
    write(
        "MRREL",
        f"""
        WITH e AS (SELECT j, (hash(j) % {n_cui}) AS c1, (hash(j * 31 + 7) % {n_cui}) AS c2,
                          (hash(j + 17) % {len(rels)})::INT + 1 AS r, (hash(j + 19) % {len(RELAS)})::INT + 1 AS ra,
                          list_element({sab_sab}, (hash(j * 3) % {len(sabs)})::INT + 1) AS sab
                   FROM range({n["MRREL"] // 2 + 1}) t(j)),
        rows AS (SELECT 2 * j AS k, c1, c2, list_element({rel_a}, r) AS rel, list_element({rela_a}, ra) AS rela, sab, j FROM e
                 UNION ALL
                 SELECT 2 * j + 1, c2, c1, list_element({rel_b}, r), list_element({rela_b}, ra), sab, j FROM e)
        SELECT cui(c1), CASE WHEN j % 3 = 0 THEN 'A' || lpad((hash(j) % 99999999)::VARCHAR, 8, '0') END,
               CASE WHEN j % 3 = 0 THEN 'AUI' ELSE 'SCUI' END, rel, cui(c2),
               CASE WHEN j % 3 = 0 THEN 'A' || lpad((hash(j + 1) % 99999999)::VARCHAR, 8, '0') END,
               CASE WHEN j % 3 = 0 THEN 'AUI' ELSE 'SCUI' END, nullif(rela, ''), 'R' || lpad(k::VARCHAR, 9, '0'),
               CASE WHEN j % 7 = 0 THEN (hash(j) % 9999999)::VARCHAR END, sab, sab,
               CASE WHEN j % 5 = 0 THEN (j % 9)::VARCHAR END, CASE WHEN j % 11 = 0 THEN 'Y' END,
               CASE WHEN hash(j + 23) % 25 = 0 THEN 'O' ELSE 'N' END, NULL, ''
        FROM rows WHERE k < {n["MRREL"]} ORDER BY k""",
    )
    stys = _weighted([(s, 1) for s in STYS], 1)
    write(
        "MRSTY",
        f"""
        SELECT cui(i * {n_cui} // {n["MRSTY"]}), s[1], s[2], s[3], 'AT' || lpad(i::VARCHAR, 9, '0'), '256', ''
        FROM (SELECT i, list_element([{", ".join(_list(s[0]) for s in stys)}], (hash(i) % {len(stys)})::INT + 1) AS s
              FROM range({n["MRSTY"]}) t(i))""",
    )
    write(
        "MRDEF",
        f"""
        SELECT cui(hash(i) % {n_cui}), 'A' || lpad((hash(i + 1) % 99999999)::VARCHAR, 8, '0'),
               'AT' || lpad((i + 500000000)::VARCHAR, 9, '0'), NULL,
               list_element(['MSH', 'NCI', 'CSP', 'MEDLINEPLUS', 'HPO', 'GO'], (hash(i) % 6)::INT + 1),
               concat_ws(' ', phrase(i), phrase(i + 100), phrase(i + 200), phrase(i + 300), phrase(i + 400),
                         phrase(i + 500)) || '.', CASE WHEN i % 50 = 0 THEN 'O' ELSE 'N' END, NULL, ''
        FROM range({n["MRDEF"]}) t(i)""",
    )
    # Small metadata files.
    rank = len(SABS) * len(TTYS) * 2
    with open(out / "MRRANK.RRF", "w", encoding="utf-8") as fh:
        for s in SABS:
            for tty in TTYS:
                for sup in ("N", "Y"):
                    fh.write(f"{rank:04d}|{s[0]}|{tty}|{sup}|\n")
                    rank -= 1
    with open(out / "MRSAB.RRF", "w", encoding="utf-8") as fh:
        for k, (sab, lat, srl, _) in enumerate(SABS):
            fh.write(
                f"C{k:07d}|C{k:07d}|{sab}2025|{sab}|{sab} (synthetic)|{sab}|2025|||2025AA||||{srl}|||FULL|"
                f"{','.join(TTYS)}||{lat}|UTF-8|Y|Y|{sab}||\n"
            )
    with open(out / "MRDOC.RRF", "w", encoding="utf-8") as fh:
        fh.write("RELEASE|umls.release.name|release_info|SYNTHETIC|\n")
        for a, b, _ in RELS:
            fh.write(f"REL|{a}|rel_inverse|{b}|\nREL|{b}|rel_inverse|{a}|\nREL|{a}|expanded_form|{a} relation|\n")
        for a, b in RELAS[3:]:
            fh.write(
                f"RELA|{a}|rela_inverse|{b}|\nRELA|{b}|rela_inverse|{a}|\n"
                f"RELA|{a}|expanded_form|{a.replace('_', ' ')}|\nRELA|{b}|expanded_form|{b.replace('_', ' ')}|\n"
            )
    return n


def ensure(meta: Path, scale: float) -> Path:
    """`meta`, generated at `scale` in its own process first when it holds no MRREL (for the benchmarks)."""
    if not (meta / "MRREL.RRF").exists():
        import subprocess
        import sys

        print(f"generating a synthetic META at scale {scale} in {meta} ...", flush=True)
        subprocess.run([sys.executable, __file__, str(meta), "--scale", str(scale)], check=True)
    return meta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    t = time.perf_counter()
    n = generate(args.out, args.scale)
    print(f"wrote {args.out} at scale {args.scale}: {n} in {time.perf_counter() - t:.0f} s")


if __name__ == "__main__":
    main()
