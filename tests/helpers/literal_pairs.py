"""A small build-pairs folder written from literal biomedical rows (the agreed layout of `kgbuild build-pairs`)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

# cui: (preferred name, synonyms, definition)
CONCEPTS = {
    "C0027051": (
        "Myocardial infarction",
        ["Heart attack", "MI - Myocardial infarction", "Cardiac infarction"],
        "Necrosis of the myocardium caused by an obstruction of the blood supply to the heart.",
    ),
    "C0011849": (
        "Diabetes mellitus",
        ["DM - Diabetes mellitus", "Sugar diabetes", "Diabetes"],
        "A metabolic disorder characterized by abnormally high blood glucose.",
    ),
    "C0020538": (
        "Hypertensive disease",
        ["High blood pressure", "Hypertension", "HBP"],
        "Persistently high arterial blood pressure.",
    ),
    "C0004096": (
        "Asthma",
        ["Bronchial asthma", "Asthmatic"],
        "A chronic inflammatory disease of the airways with reversible obstruction.",
    ),
    "C0032285": (
        "Pneumonia",
        ["Lung inflammation", "Pneumonitis"],
        "Inflammation of the lung parenchyma, usually caused by an infection.",
    ),
    "C0018681": ("Headache", ["Cephalalgia", "Head pain", "Cranial pain"], "Pain in the cranial region."),
    "C0015967": ("Fever", ["Pyrexia", "Febrile", "High temperature"], "An abnormal elevation of body temperature."),
    "C0002871": (
        "Anemia",
        ["Anaemia", "Low hemoglobin"],
        "A reduction in the number of red blood cells or of hemoglobin.",
    ),
    "C0006826": (
        "Malignant neoplastic disease",
        ["Cancer", "Malignant tumor", "Malignancy"],
        "A tumor composed of atypical cells that can invade surrounding tissue.",
    ),
    "C0038454": (
        "Cerebrovascular accident",
        ["Stroke", "CVA", "Brain attack"],
        "A sudden loss of neurological function caused by an interruption of the blood supply to the brain.",
    ),
    "C0009443": (
        "Common cold",
        ["Acute nasopharyngitis", "Coryza", "Head cold"],
        "A mild viral infection of the nose and throat.",
    ),
    "C0021400": (
        "Influenza",
        ["Flu", "Grippe"],
        "An acute viral infection of the respiratory tract caused by influenza virus.",
    ),
    "C0003873": (
        "Rheumatoid arthritis",
        ["RA - Rheumatoid arthritis", "Rheumatoid disease"],
        "A chronic autoimmune disease causing inflammation of the joints.",
    ),
    "C0029408": (
        "Osteoarthritis",
        ["Degenerative joint disease", "OA - Osteoarthritis"],
        "A degenerative disease of the joints with loss of cartilage.",
    ),
    "C0028754": ("Obesity", ["Adiposity", "Overweight and obesity"], "A condition of excess body fat."),
    "C0022658": ("Kidney disease", ["Renal disease", "Nephropathy"], "A disease affecting the kidney."),
}
DEV_CUIS = {"C0028754"}
TEST_CUIS = {"C0022658", "C0029408"}


def pair_rows() -> list[dict[str, str]]:
    rows = []
    for cui, (name, synonyms, definition) in CONCEPTS.items():
        split = "test" if cui in TEST_CUIS else "dev" if cui in DEV_CUIS else "train"
        for synonym in synonyms:
            rows.append({"anchor": synonym, "positive": name, "cui": cui, "kind": "synonym", "split": split})
        rows.append({"anchor": name, "positive": definition, "cui": cui, "kind": "definition", "split": split})
        rows.append(
            {
                "anchor": synonyms[0],
                "positive": f"{name} is a kind of disorder.",
                "cui": cui,
                "kind": "description",
                "split": split,
            }
        )
    return rows


def write_pairs(folder: Path, rows: list[dict[str, str]] | None = None) -> Path:
    """pairs.parquet, descriptions.parquet, linking.parquet, linking_candidates.parquet (+ a manifest) in `folder`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows = pair_rows() if rows is None else rows
    pq.write_table(
        pa.Table.from_pylist(
            rows, schema=pa.schema([(c, pa.string()) for c in ("anchor", "positive", "cui", "kind", "split")])
        ),
        folder / "pairs.parquet",
    )
    descriptions = [
        {"cui": cui, "description": f"{name} is a kind of disorder.", "template_version": "v1"}
        for cui, (name, _, _) in CONCEPTS.items()
    ]
    pq.write_table(pa.Table.from_pylist(descriptions), folder / "descriptions.parquet")
    linking = [
        {"query": s, "cui": cui, "split": "test" if cui in TEST_CUIS else "dev"}
        for cui, (_, synonyms, _) in CONCEPTS.items()
        if cui in TEST_CUIS | DEV_CUIS
        for s in synonyms
    ]
    pq.write_table(pa.Table.from_pylist(linking), folder / "linking.parquet")
    candidates = [{"cui": cui, "name": name} for cui, (name, _, _) in CONCEPTS.items()]
    pq.write_table(pa.Table.from_pylist(candidates), folder / "linking_candidates.parquet")
    (folder / "manifest.json").write_text('{"command": "test fixture"}\n', encoding="utf-8")
    return folder
