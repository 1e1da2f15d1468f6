"""Publishing to the Hugging Face Hub: stage a verified local repository folder, then upload it.

The names below are the public API (what `trainer push` and the model card use); the modules behind them are
internals, loaded on first use (`kgbuild.core.lazy`), so that a command's `--help` imports neither huggingface_hub
nor pyarrow.
"""

from __future__ import annotations

from kgbuild.core.lazy import exports

_API = {
    # the one publisher: options, the stage → verify → upload path, and the dataset's use of it
    "PUBLISH_FLAGS": "publisher",
    "PublishOptions": "publisher",
    "Published": "publisher",
    "check_options": "publisher",
    "publish": "publisher",
    "publish_dataset": "dataset",
    "Uploaded": "upload",
    "check_repo_id": "repo_ids",
    "repo_id_problem": "repo_ids",
    # the licence of a folder's content, and what cards say of it
    "ACK_FLAG": "licence",
    "Licence": "licence",
    "assess": "licence",
    "from_lineage": "licence",
    "guard": "licence",
    "terms_text": "licence",
    "unknown": "licence",
    "BIOLORD_BIBTEX": "card",
    "licence_metadata": "card",
    # what every staged folder needs
    "redact_paths": "stage",
    "refuse_links": "stage",
}
__all__ = sorted(_API)
__getattr__ = exports(__name__, _API)
