"""The dataset card (README.md): Hub metadata with one config per table, then what the tables are and how they came.

Built like the model card: huggingface_hub's DatasetCard from card data (DatasetCardData) and a template
(dataset_card_template.md). Everything in it comes from the contracts (table and column descriptions), the manifests
(release, filters, versions) and the licence assessment, so the card cannot drift from the data it describes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml
from huggingface_hub import DatasetCard, DatasetCardData

from kgbuild import __version__
from kgbuild.core.contracts import load_contract
from kgbuild.core.errors import UserError
from kgbuild.core.languages import iso_code
from kgbuild.publish.licence import Licence, terms_text

BIOLORD_BIBTEX = """@article{remy2024biolord,
  title   = {{BioLORD-2023}: semantic textual representations fusing large language models and clinical knowledge
             graph insights},
  author  = {Remy, Fran{\\c{c}}ois and Demuynck, Kris and Demeester, Thomas},
  journal = {Journal of the American Medical Informatics Association},
  volume  = {31},
  number  = {9},
  year    = {2024},
  doi     = {10.1093/jamia/ocae029}
}"""

# Which config opens first in the viewer: the training pairs when present, else the concepts.
_DEFAULT_ORDER = ("pairs", "concepts", "llm_definitions")


@dataclass(frozen=True)
class StagedTable:
    name: str
    rows: int
    shards: list[str]  # paths relative to the repository root
    bytes: int
    # Hub split name -> its shards; a table with a split column (pairs, linking) has train/validation/test.
    splits: dict[str, list[str]] | None = None

    def split_names(self) -> list[str]:
        return list(self.splits) if self.splits else ["train"]


def size_category(n: int) -> str:
    for limit, label in (
        (1_000, "n<1K"),
        (10_000, "1K<n<10K"),
        (100_000, "10K<n<100K"),
        (1_000_000, "100K<n<1M"),
        (10_000_000, "1M<n<10M"),
        (100_000_000, "10M<n<100M"),
        (1_000_000_000, "100M<n<1B"),
    ):
        if n < limit:
            return label
    return "1B<n<10B"


def languages(lic: Licence) -> list[str]:
    # The languages the KG kept names in (its manifest); an older manifest: the --lang filter (OBO: English).
    langs = lic.kg_languages or lic.extract_parameters.get("langs") or (["ENG"] if lic.origin == "obo" else [])
    return sorted({iso for code in langs if (iso := iso_code(code))})


def licence_metadata(lic: Licence) -> dict[str, Any]:
    """The card metadata a licence decides, for dataset and model cards alike: licence, name, link, languages."""
    meta: dict[str, Any] = {"license": lic.hub_licence}
    if lic.hub_licence == "other":
        meta["license_name"] = lic.licence_name or "other"
        if lic.licence_link:
            meta["license_link"] = lic.licence_link
    langs = languages(lic)
    if langs:
        meta["language"] = langs
    return meta


def default_config(tables: list[StagedTable]) -> str:
    names = [t.name for t in tables]
    return next((n for n in _DEFAULT_ORDER if n in names), names[0])


def metadata(repo_id: str, tables: list[StagedTable], lic: Licence) -> dict[str, Any]:
    default = default_config(tables)
    meta: dict[str, Any] = {"pretty_name": repo_id.split("/")[-1], **licence_metadata(lic)}
    meta["task_categories"] = ["sentence-similarity", "feature-extraction"]
    meta["size_categories"] = [size_category(max(t.rows for t in tables))]
    meta["tags"] = ["biomedical", "knowledge-graph", "umls" if lic.origin == "umls" else "obo", "kgbuild", "biolord"]
    meta["configs"] = [
        {
            "config_name": t.name,
            "data_files": [{"split": split, "path": f"{t.name}/{split}-*.parquet"} for split in t.split_names()],
            **({"default": True} if t.name == default else {}),
        }
        for t in tables
    ]
    return meta


def _cell(text: Any) -> str:
    return str(text if text is not None else "").replace("|", "\\|").replace("\n", " ")


def _table(t: StagedTable) -> dict[str, Any]:
    """What the card says of one table: its contract's words, its size, its splits and columns."""
    contract = load_contract(t.name)
    schema = contract["schema"][0]
    return {
        "name": t.name,
        "code": f"`{t.name}`",
        "purpose": (contract.get("description") or {}).get("purpose", ""),
        "description": schema.get("description"),
        "grain": schema.get("dataGranularityDescription"),
        "rows": f"{t.rows:,}",
        "shards": len(t.shards),
        "splits": ", ".join(f"`{s}`" for s in t.splits) if t.splits and len(t.splits) > 1 else None,
        "has_train": "train" in t.split_names(),
        # the snippet loads a split the table has: the linking set is held-out concepts only (no train)
        "first_split": "train" if "train" in t.split_names() else t.split_names()[0],
        "columns": [
            {
                "name": prop["name"],
                "type": _cell(prop.get("physicalType")),
                "required": "yes" if prop.get("required") else "",
                "description": _cell(prop.get("description", "")),
            }
            for prop in schema["properties"]
        ],
    }


def _made_with(lic: Licence) -> str:
    if lic.origin == "umls":
        return (
            f"Extracted from the UMLS Metathesaurus release **{lic.release or 'unknown'}** with "
            "`kgbuild extract --umls`."
        )
    if lic.origin == "obo":
        onto = lic.ontology or {}
        return (
            f"Extracted from the ontology **{onto.get('name') or 'unknown'}** version "
            f"**{onto.get('version') or 'unknown'}** with `kgbuild extract --obo`."
        )
    return "The extract step that made the knowledge graph could not be found (no manifest)."


# The extract filters in the order a reader looks for them; any other parameter after them.
_FILTERS = ("langs", "sabs", "exclude_sabs", "keep_suppressed", "max_srl")


def build(repo_id: str, tables: list[StagedTable], lic: Licence, data_manifest: dict[str, Any]) -> DatasetCard:
    """The dataset card, from its data: the card metadata (DatasetCardData) and the template's fields."""
    params = lic.extract_parameters
    filters = [(k, json.dumps(params[k])) for k in _FILTERS if k in params]
    filters += [(k, json.dumps(v, default=str)) for k, v in params.items() if k not in _FILTERS]
    versions = data_manifest.get("versions") or {}
    llm = None
    if data_manifest.get("command") == "generate-definitions":
        llm = (data_manifest.get("parameters") or {}).get("model")
    return DatasetCard.from_template(
        DatasetCardData(**metadata(repo_id, tables, lic)),
        template_str=(resources.files("kgbuild.publish") / "dataset_card_template.md").read_text(encoding="utf-8"),
        name=repo_id.split("/")[-1],
        repo_id=repo_id,
        version=__version__,
        tables=[_table(t) for t in tables],
        total=f"{sum(t.rows for t in tables):,}",
        terms=terms_text(lic),
        sources=[
            {
                "sab": _cell(s.sab),
                "name": _cell(s.name),
                "version": _cell(s.version),
                "srl": _cell("" if s.srl is None else s.srl),
                "n_atoms": _cell(s.n_atoms),
            }
            for s in lic.sources
        ],
        sources_from=lic.sources_from.split(" of ")[0],
        made_with=_made_with(lic),
        filters=filters,
        chain=[
            {
                "command": _cell(step.get("command") or "?"),
                "created_at": _cell(step.get("created_at")),
                "kgbuild": _cell(step.get("kgbuild")),
                "parameters": _cell(json.dumps(step.get("parameters") or {}, default=str, sort_keys=True)),
            }
            for step in lic.chain
        ],
        versions=", ".join(f"{k} {v}" for k, v in versions.items() if k not in ("platform",)),
        llm=llm,
        bibtex=BIOLORD_BIBTEX,
    )


def validate(text: str, table_names: list[str]) -> DatasetCard:
    """Parse the card as the Hub libraries do (huggingface_hub DatasetCard, datasets' config reader) and check it."""
    from datasets.utils.metadata import MetadataConfigs

    try:
        card = DatasetCard(text)
        configs = MetadataConfigs.from_dataset_card_data(card.data)
    except (ValueError, yaml.YAMLError) as exc:
        raise UserError(
            f"the generated dataset card does not parse: {exc}", path="README.md", fix="report this as a kgbuild bug"
        ) from exc
    data = card.data.to_dict()
    missing = [key for key in ("license", "configs", "pretty_name") if not data.get(key)]
    if data.get("license") == "other" and not data.get("license_name"):
        missing.append("license_name")
    if sorted(configs) != sorted(table_names) or missing:
        raise UserError(
            f"the generated dataset card is incomplete: configs {sorted(configs)} for tables "
            f"{sorted(table_names)}, missing {missing}",
            path="README.md",
            fix="report this as a kgbuild bug",
        )
    return card
