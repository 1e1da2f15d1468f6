"""The peer: a line-by-line Python reader in the style of scispacy's umls_utils / SapBERT's notebook, doing the
same selection as `kgbuild extract` (ENG, SUPPRESS O/E/Y dropped, P/PF/Y preferred name with MRRANK fallback,
types, definitions, MRREL read right to left with both directions collapsed) and writing the same Parquet tables.

Usage: python benchmarks/peer_linewise.py META_DIR OUT_DIR
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

DROP = {"O", "E", "Y"}
HIER = {"CHD": False, "RN": False, "PAR": True, "RB": True}


def rows(path: Path):
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            yield line.rstrip("\n").split("|")


def main(meta: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    rank = {}
    if (meta / "MRRANK.RRF").exists():
        for f in rows(meta / "MRRANK.RRF"):
            rank[(f[1], f[2], f[3])] = int(f[0])
    inverse = {
        "CHD": "PAR",
        "PAR": "CHD",
        "RB": "RN",
        "RN": "RB",
        "AQ": "QB",
        "QB": "AQ",
        "RO": "RO",
        "RQ": "RQ",
        "RL": "RL",
        "RU": "RU",
        "SY": "SY",
        "XR": "XR",
    }
    if (meta / "MRDOC.RRF").exists():
        for f in rows(meta / "MRDOC.RRF"):
            if f[2] in ("rel_inverse", "rela_inverse"):
                inverse[f[1]] = f[3]

    names = []  # (cui, aui, str, lat, sab, tty, suppress, srl)
    best = {}  # cui -> (key, index into names)
    for f in rows(meta / "MRCONSO.RRF"):
        if f[1] != "ENG" or f[16] in DROP:
            continue
        key = (
            f[2] == "P" and f[4] == "PF" and f[6] == "Y",
            rank.get((f[11], f[12], "N" if f[16] in ("N", "") else "Y"), -1),
        )
        idx = len(names)
        names.append((f[0], f[7], f[14], f[1], f[11], f[12], f[16], int(f[15]) if f[15] else None))
        old = best.get(f[0])
        if old is None or key > old[0] or (key == old[0] and f[7] < names[old[1]][1]):
            best[f[0]] = (key, idx)
    preferred = {i for _, i in best.values()}
    counts = defaultdict(int)
    for n in names:
        counts[n[0]] += 1

    types = defaultdict(set)
    sty_rows = set()
    for f in rows(meta / "MRSTY.RRF"):
        if f[0] in best:
            types[f[0]].add(f[3])
            sty_rows.add((f[0], f[1], f[3], f[2]))

    defs = {}
    if (meta / "MRDEF.RRF").exists():
        for f in rows(meta / "MRDEF.RRF"):
            if f[0] in best and f[6] not in DROP and f[5].strip() and (f[0], f[1]) not in defs:
                defs[(f[0], f[1])] = (f[4], f[5])

    edges = set()
    for f in rows(meta / "MRREL.RRF"):
        c1, rel, c2, rela, sab, sup = f[0], f[3], f[4], f[7], f[10], f[14]
        if sup in DROP or c1 == c2 or c1 not in best or c2 not in best:
            continue
        head, relation, tail = c2, rela or rel, c1
        inv_rel, inv = inverse.get(rel), (inverse.get(rela) if rela else inverse.get(rel))
        if inv_rel and inv:
            if rel in HIER:
                flip = HIER[rel]
            elif relation == inv:
                flip = head > tail
            elif relation.startswith("inverse_") or inv.startswith("inverse_"):
                flip = relation.startswith("inverse_")
            elif relation.startswith("has_") != inv.startswith("has_"):
                flip = inv.startswith("has_")
            else:
                flip = relation > inv
            if flip:
                head, relation, rel, tail = tail, inv, inv_rel, head
        edges.add((head, relation, rel, tail, sab))

    def write(name, cols, data):
        pq.write_table(pa.table({c: [d[i] for d in data] for i, c in enumerate(cols)}), out / f"{name}.parquet")

    write(
        "names",
        ["cui", "aui", "name", "lang", "sab", "tty", "is_preferred", "suppress", "srl"],
        [(n[0], n[1], n[2], n[3], n[4], n[5], i in preferred, n[6], n[7]) for i, n in enumerate(names)],
    )
    write(
        "concepts",
        ["cui", "preferred_name", "semantic_types", "n_names", "has_definition"],
        [(c, names[i][2], sorted(types.get(c, ())), counts[c], False) for c, (_, i) in best.items()],
    )
    write("semantic_types", ["cui", "tui", "sty", "stn"], sorted(sty_rows))
    write(
        "definitions",
        ["cui", "source_id", "sab", "definition", "origin"],
        [(c, a, s, d, "umls") for (c, a), (s, d) in defs.items()],
    )
    write("relations", ["head_cui", "relation", "rel", "tail_cui", "sab"], list(edges))
    print(f"peer: {len(best)} concepts, {len(names)} names, {len(edges)} relations")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
