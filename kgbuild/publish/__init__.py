"""Publishing to the Hugging Face Hub: stage a verified local repository folder, then upload it.

The names below are the public API (what `trainer push` and the model card use); the modules behind them are
internals, loaded on first use (`kgbuild.core.lazy`), so that a command's `--help` imports neither huggingface_hub
nor pyarrow.
"""

from __future__ import annotations

from kgbuild.core.lazy import exports

_API = {
    "ACK_FLAG": "licence",
    "Licence": "licence",
    "assess": "licence",
    "from_lineage": "licence",
    "guard": "licence",
    "predates_lineage": "licence",
    "terms_text": "licence",
    "unknown": "licence",
    "BIOLORD_BIBTEX": "card",
    "licence_metadata": "card",
    "redact_paths": "stage",
    "refuse_links": "stage",
    "Uploaded": "upload",
    "check_repo_id": "upload",
    "upload_folder": "upload",
}
__all__ = sorted(_API)
__getattr__ = exports(__name__, _API)
