"""The dataset card (README.md): Hub metadata with one config per table, then what the tables are and how they came.

Everything in it comes from the contracts (table and column descriptions), the manifests (release, filters,
versions) and the licence assessment, so the card cannot drift from the data it describes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import yaml
from huggingface_hub import DatasetCard

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


def _table_section(repo_id: str, t: StagedTable) -> str:
    contract = load_contract(t.name)
    schema = contract["schema"][0]
    purpose = (contract.get("description") or {}).get("purpose", "")
    lines = [f"### `{t.name}`", ""]
    if purpose:
        lines += [purpose, ""]
    if schema.get("description"):
        lines += [schema["description"], ""]
    grain = schema.get("dataGranularityDescription")
    lines += [
        f"{t.rows:,} rows{f' ({grain})' if grain else ''} in {len(t.shards)} Parquet shard(s). "
        f"Contract: `contracts/{t.name}.odcs.yaml`.",
        "",
    ]
    if t.splits and len(t.splits) > 1:
        lines += [
            f"Splits by concept ({', '.join(f'`{s}`' for s in t.splits)}): a concept's rows are all in one "
            "split, so no test concept is seen in training. Train on `train`, choose on `validation`, report "
            "on `test`.",
            "",
        ]
    lines += [
        "```python",
        "from datasets import load_dataset",
        "",
        f'ds = load_dataset("{repo_id}", "{t.name}", split="train")',
        "```",
        "",
        "| column | type | required | description |",
        "|---|---|---|---|",
    ]
    for prop in schema["properties"]:
        required = "yes" if prop.get("required") else ""
        lines.append(
            f"| `{prop['name']}` | {_cell(prop.get('physicalType'))} | {required} | "
            f"{_cell(prop.get('description', ''))} |"
        )
    return "\n".join(lines)


def _provenance(lic: Licence, data_manifest: dict[str, Any]) -> str:
    lines = ["## How the data was made", ""]
    if lic.origin == "umls":
        lines.append(
            f"Extracted from the UMLS Metathesaurus release **{lic.release or 'unknown'}** with "
            "`kgbuild extract --umls`."
        )
    elif lic.origin == "obo":
        onto = lic.ontology or {}
        lines.append(
            f"Extracted from the ontology **{onto.get('name') or 'unknown'}** version "
            f"**{onto.get('version') or 'unknown'}** with `kgbuild extract --obo`."
        )
    else:
        lines.append("The extract step that made the knowledge graph could not be found (no manifest).")
    params = lic.extract_parameters
    if params:
        lines += ["", "Extract filters:", ""]
        for key in ("langs", "sabs", "exclude_sabs", "keep_suppressed", "max_srl"):
            if key in params:
                lines.append(f"- `{key}`: {json.dumps(params[key])}")
        for key, value in params.items():
            if key not in ("langs", "sabs", "exclude_sabs", "keep_suppressed", "max_srl"):
                lines.append(f"- `{key}`: {json.dumps(value, default=str)}")
    if lic.chain:
        lines += [
            "",
            "Steps, newest first (from each folder's `manifest.json`):",
            "",
            "| step | created | kgbuild | parameters |",
            "|---|---|---|---|",
        ]
        for step in lic.chain:
            params_text = json.dumps(step.get("parameters") or {}, default=str, sort_keys=True)
            lines.append(
                f"| `kgbuild {_cell(step.get('command') or '?')}` | {_cell(step.get('created_at'))} | "
                f"{_cell(step.get('kgbuild'))} | `{_cell(params_text)}` |"
            )
    versions = data_manifest.get("versions") or {}
    shown = ", ".join(f"{k} {v}" for k, v in versions.items() if k not in ("platform",))
    lines += ["", f"Published with kgbuild {__version__}." + (f" The data was made with {shown}." if shown else "")]
    llm = None
    if data_manifest.get("command") == "generate-definitions":
        llm = (data_manifest.get("parameters") or {}).get("model")
    if llm:
        lines += [
            "",
            f"The `llm_definitions` texts were generated by the model `{llm}`; its provider's terms apply "
            "to generated text as well.",
        ]
    return "\n".join(lines)


def _sources_section(lic: Licence) -> str:
    if not lic.sources:
        return "## Source vocabularies\n\nNot recorded (see the licence section)."
    lines = [
        "## Source vocabularies",
        "",
        f"Read from the {lic.sources_from.split(' of ')[0]}.",
        "",
        "| sab | name | version | SRL | atoms |",
        "|---|---|---|---|---|",
    ]
    for s in lic.sources:
        lines.append(
            f"| {_cell(s.sab)} | {_cell(s.name)} | {_cell(s.version)} | "
            f"{_cell('' if s.srl is None else s.srl)} | {_cell(s.n_atoms)} |"
        )
    return "\n".join(lines)


def render(repo_id: str, tables: list[StagedTable], lic: Licence, data_manifest: dict[str, Any]) -> str:
    meta = yaml.safe_dump(metadata(repo_id, tables, lic), sort_keys=False, allow_unicode=True, width=1000)
    total = sum(t.rows for t in tables)
    body = [
        f"# {repo_id.split('/')[-1]}",
        "",
        f"Biomedical knowledge-graph tables ({', '.join(f'`{t.name}`' for t in tables)}; {total:,} rows) made with "
        f"kgbuild {__version__}, a toolkit that reproduces the data of "
        "BioLORD-2023-style biomedical embedding models. Each table is one config, checked against its data contract "
        "before upload.",
        "",
        "## Licence",
        "",
        terms_text(lic),
        "",
        "## Tables",
        "",
        "\n\n".join(_table_section(repo_id, t) for t in tables),
        "",
        _sources_section(lic),
        "",
        _provenance(lic, data_manifest),
        "",
        "## Limitations",
        "",
        "Names, definitions and relations are reproduced as released by their sources; generated descriptions and "
        "LLM definitions can be wrong. This is not clinical advice. Check the licence section before any reuse.",
        "",
        "## Citation",
        "",
        "If you use this data to train embedding models, please cite BioLORD-2023:",
        "",
        "```bibtex",
        BIOLORD_BIBTEX,
        "```",
        "",
    ]
    return f"---\n{meta}---\n\n" + "\n".join(body)


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
