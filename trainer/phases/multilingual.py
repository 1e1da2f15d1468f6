"""Phase 4 (BioLORD-2023-M, optional): multilingual distillation.

A multilingual student learns to map both an English text and its translation to the teacher's embedding of the
English text (MSE), from the parallel table of `kgbuild build-pairs --parallel-lang` (its train split: the same
concepts as the English pairs) or a two-column table (en, xx) of the user's own — the recipe of
sentence-transformers' make_multilingual example (Reimers & Gurevych 2020).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field

from kgbuild.core.console import verbose
from kgbuild.core.errors import UserError
from kgbuild.core.events import Reporter, silent
from trainer.config import TrainingConfig
from trainer.phases.base import Option, Phase, Required, register, training_evaluator

if TYPE_CHECKING:
    from trainer.config import RunConfig
    from trainer.phase_folder import PhaseRun

logger = logging.getLogger(__name__)


class MultilingualConfig(TrainingConfig):
    enabled: bool = False
    parallel: Path | None = Field(None, strict=False)  # a build-pairs --parallel-lang folder, or an (en, xx) table
    student: str = ""  # a multilingual sentence-transformers model (e.g. an XLM-R one)
    teacher: str = "weight_averaging"  # the final (averaged) model, or another model or name of the run
    max_seq_length: int = Field(64, ge=8)
    encode_batch_size: int = Field(128, ge=1)


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
    report: Reporter = silent,
    evaluator: Any = None,
) -> dict[str, Any]:
    """Train the multilingual `student` on the parallel table towards `teacher`'s English embeddings.

    `report`: where the training progress goes (kgbuild.core.events); `callbacks`: transformers TrainerCallbacks for
    the trainer (e.g. benchmarks/gpu_check.py's meter); `evaluator`: a sentence-transformers evaluator the trainer
    scores at every save_steps (step 4; its figures in the summary's "evaluations").
    """
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
    from sentence_transformers.sentence_transformer.losses import MSELoss

    from trainer.data import load_parallel, parallel_languages
    from trainer.hashing import fingerprint
    from trainer.models import model_reference
    from trainer.phase_folder import PhaseRun
    from trainer.training import encode_shared, join_processes, train_summary, training_arguments

    run = PhaseRun(out, force=force, checkpoints=checkpoints, marker=marker, report=report, callbacks=callbacks)
    run.refuse({"--parallel": parallel, "--teacher": Path(teacher), "--student": Path(student)})
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

    # 4. Evaluator: by default none inside the loop (`trainer run-all` scores every phase's output after it); with
    #    evaluate_during_training, the run's evaluators at every save_steps (`evaluator`: training_evaluator)

    # 5. Training arguments
    args = training_arguments(config, run.checkpoints, seed=seed, evaluate=evaluator is not None)

    # 6. Train
    trainer = SentenceTransformerTrainer(
        model=student_model,
        args=args,
        train_dataset=train_dataset,
        loss=loss,
        callbacks=run.callbacks,
        evaluator=evaluator,
    )
    run.train(trainer, PHASE.label, fingerprint(config, teacher_ref, student_ref, str(parallel), seed))
    summary = {
        "teacher": teacher_ref,
        "student": student_ref,
        "languages": parallel_languages(parallel),
        "teacher_texts_per_process": shares,
        **train_summary(trainer, run.started, len(parallel_ds)),
    }

    # 7. Save: written beside `out`, renamed into place when complete (one process under DDP)
    run.save(student_model, PHASE.name, summary, config)
    return summary


def _inputs(cfg: RunConfig) -> dict[str, Any]:
    ml = cfg.multilingual
    return {"teacher": cfg.resolve_model(ml.teacher), "student": ml.student, "parallel": cfg.parallel}


def _run(ctx: PhaseRun, cfg: RunConfig, inputs: dict[str, Any]) -> dict[str, Any]:
    return train_multilingual(
        inputs["teacher"],
        inputs["student"],
        inputs["parallel"],
        ctx.out,
        cfg.multilingual,
        seed=cfg.model.seed,
        evaluator=training_evaluator(cfg, cfg.multilingual),
        **ctx.arguments(),
    )


def _parallel_files(parallel: Path) -> Any:
    from trainer.data import parallel_files

    return parallel_files(parallel)


PHASE = register(
    Phase(
        name="multilingual",
        command="multilingual",
        folder="multilingual",
        verb="training",
        label="multilingual",
        title="4. Multilingual distillation",
        config=MultilingualConfig,
        inputs=_inputs,
        run=_run,
        help="Phase 4 (BioLORD-2023-M): a multilingual student maps English and translated text to the teacher's "
        "embedding.",
        epilog="Example: trainer multilingual --teacher run/final --student "
        "sentence-transformers/paraphrase-multilingual-mpnet-base-v2 --parallel en_nl.parquet "
        "--out run/multilingual",
        options=(
            Option("student", "--student", "Multilingual student model; default [multilingual] student."),
            Option("teacher", "--teacher", "English teacher; default <output_dir>/final."),
            Option("parallel", "--parallel", "Parallel table (en, xx): a Parquet file or folder.", kind="path"),
        ),
        required=(
            Required(
                "student",
                "[multilingual] student",
                "a multilingual model, e.g. sentence-transformers/paraphrase-multilingual-mpnet-base-v2",
            ),
            Required(
                "parallel",
                "[multilingual] parallel",
                "a kgbuild build-pairs --parallel-lang output folder",
                check=_parallel_files,
            ),
        ),
        path_keys=("parallel",),
        model_keys=("student", "teacher"),
    )
)
