"""Phase 4 (BioLORD-2023-M, optional): multilingual distillation.

A multilingual student learns to map both an English text and its translation to the teacher's embedding of the
English text (MSE), from the parallel table of `kgbuild build-pairs --parallel-lang` (its train split: the same
concepts as the English pairs) or a two-column table (en, xx) of the user's own — the recipe of
sentence-transformers' make_multilingual example (Reimers & Gurevych 2020).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from kgbuild.core.console import verbose
from kgbuild.core.errors import UserError
from trainer.config import MultilingualConfig
from trainer.data import load_parallel, parallel_languages
from trainer.hashing import fingerprint
from trainer.models import model_reference
from trainer.phase_folder import checkpoints_for, refuse_existing, resume_checkpoint, save_phase
from trainer.phases import PHASES
from trainer.training import encode_shared, join_processes, quiet, train_summary, training_arguments

logger = logging.getLogger(__name__)


def train_multilingual(
    teacher: str,
    student: str,
    parallel: Path,
    out: Path,
    config: MultilingualConfig,
    *,
    seed: int = 42,
    checkpoints: Path | None = None,
    force: bool = False,
    marker: dict[str, Any] | None = None,
    callbacks: list | None = None,
) -> dict[str, Any]:
    """Train the multilingual `student` on the parallel table towards `teacher`'s English embeddings.

    `callbacks`: transformers TrainerCallbacks for the trainer (e.g. benchmarks/gpu_check.py's meter).
    """
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
    from sentence_transformers.sentence_transformer.losses import MSELoss

    out = Path(out)
    refuse_existing(
        out, force, inputs={"--parallel": parallel, "--teacher": Path(teacher), "--student": Path(student)}
    )
    checkpoints = Path(checkpoints or checkpoints_for(out))
    started = time.perf_counter()
    join_processes()  # under torchrun: before the models load, so the teacher's work is shared

    # 1. Load the English teacher and the multilingual student (the parallel table is checked first: it is quick)
    parallel_ds = load_parallel(parallel)
    teacher_ref, student_ref = model_reference(teacher), model_reference(student)
    teacher_model = SentenceTransformer(teacher_ref)
    student_model = SentenceTransformer(student_ref)
    student_model.max_seq_length = config.max_seq_length
    dims = teacher_model.get_embedding_dimension(), student_model.get_embedding_dimension()
    if dims[0] != dims[1]:
        raise UserError(
            f"teacher embeds in {dims[0]} dimensions, student in {dims[1]}",
            path=student_ref,
            fix=f"pick a multilingual student that embeds in {dims[0]} dimensions, as the teacher does "
            "(paraphrase-multilingual-mpnet-base-v2 for an mpnet teacher: 768; "
            "paraphrase-multilingual-MiniLM-L12-v2 for a MiniLM teacher: 384)",
        )

    # 2. The parallel texts (en, xx) and the teacher's embedding of the English side as the label
    labels, shares = encode_shared(
        teacher_model, parallel_ds["en"][:], batch_size=config.encode_batch_size, show_progress_bar=verbose()
    )  # under torchrun each process embeds its share
    train_dataset = parallel_ds.add_column("label", labels.tolist())  # columns (en, xx, label)
    del teacher_model

    # 3. Define the loss: MSE of both the English and the translated text against the same teacher embedding
    loss = MSELoss(student_model)

    # 4. Evaluator: none inside the loop; `trainer evaluate` scores the result

    # 5. Training arguments
    args = training_arguments(config, checkpoints, seed=seed)

    # 6. Train
    trainer = SentenceTransformerTrainer(
        model=student_model, args=args, train_dataset=train_dataset, loss=loss, callbacks=callbacks
    )
    key = fingerprint(config, teacher_ref, student_ref, str(parallel), seed)
    quiet(trainer, PHASES["multilingual"].label).train(resume_from_checkpoint=resume_checkpoint(checkpoints, key))
    summary = {
        "teacher": teacher_ref,
        "student": student_ref,
        "languages": parallel_languages(parallel),
        "teacher_texts_per_process": shares,
        **train_summary(trainer, started, len(parallel_ds)),
    }

    # 7. Save: written beside `out`, renamed into place when complete (one process under DDP)
    save_phase(student_model, out, info={"phase": "multilingual", **summary, **(marker or {})}, settings=config)
    return summary
