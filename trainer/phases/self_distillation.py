"""Phase 2 (BioLORD-2023-S): self-distillation.

The phase-1 model is the teacher. The teacher embeds the training texts (names, definitions, descriptions) once —
cached on disk — and the student learns them with an MSE loss. In the paper the student starts from the base model,
to take the teacher's biomedical geometry while keeping the base's general sentence understanding
(`student = "base"`); by default it starts from the phase-1 model, which measured better at a CPU budget (the base's
general scores come back in phase 3, whose default soup includes the base: BENCHMARKS.md, issue 14).
"""

from __future__ import annotations

import hashlib
import logging
import random
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from kgbuild.core.console import verbose
from kgbuild.core.errors import UserError
from kgbuild.core.events import Reporter, silent
from trainer.config import TrainingConfig
from trainer.phases.base import Option, Phase, register, training_evaluator
from trainer.phases.contrastive import PAIRS, PAIRS_OPTION

if TYPE_CHECKING:  # imported where used: `trainer --help` must not pay for loading datasets
    import datasets

    from trainer.config import RunConfig
    from trainer.phase_folder import PhaseRun

logger = logging.getLogger(__name__)


class SelfDistillationConfig(TrainingConfig):
    teacher: str = "contrastive"  # a model, or a name of the run: "base" or an earlier phase
    # from phase 1 (the study of BENCHMARKS.md, issue 14: better linking and general scores than from the base at a
    # CPU budget); "base" is the paper's student
    student: str = "contrastive"
    texts: list[Literal["anchor", "positive"]] = Field(default_factory=lambda: ["anchor", "positive"])  # learnt
    kinds: list[str] = Field(default_factory=list)
    encode_batch_size: int = Field(128, ge=1)
    group_by_length: bool = False  # batches of texts of similar length: far less padding, other batch mixes


def teacher_embeddings(
    teacher, teacher_ref: str, texts: list[str], cache_dir: Path, *, batch_size: int = 128, report: Reporter = silent
) -> tuple[datasets.Dataset, list[int]]:
    """A dataset (text, label) with the teacher's embedding of each text, computed once and cached on disk, and the
    number of texts each process embedded (under torchrun each embeds its share: trainer.training.encode_shared).

    The cache key covers the teacher's weights and the exact texts, so a changed teacher or corpus is recomputed.
    """
    import datasets

    from kgbuild.core.atomic import atomic_dir
    from trainer.hashing import model_fingerprint
    from trainer.training import encode_shared, is_main_process

    key = hashlib.sha256(model_fingerprint(teacher_ref).encode() + "\x00".join(texts).encode()).hexdigest()[:20]
    cached = Path(cache_dir) / f"teacher-{key}"
    if cached.is_dir():
        logger.info("self-distillation: teacher embeddings from cache %s", cached)
        return datasets.load_from_disk(str(cached)), []
    labels, shares = encode_shared(teacher, texts, batch_size=batch_size, show_progress_bar=verbose())
    ds = datasets.Dataset.from_dict({"text": texts, "label": labels.tolist()})
    if is_main_process():
        with atomic_dir(cached, force=True, report=report) as tmp:
            ds.save_to_disk(str(tmp))
    return ds, shares


def train_self_distillation(
    teacher: str,
    student: str,
    pairs_dir: Path,
    out: Path,
    config: SelfDistillationConfig,
    *,
    max_seq_length: int = 128,
    seed: int = 42,
    checkpoints: Path | None = None,
    cache_dir: Path | None = None,
    force: bool = False,
    marker: dict[str, Any] | None = None,
    callbacks: list | None = None,
    report: Reporter = silent,
    evaluator: Any = None,
) -> dict[str, Any]:
    """Train `student` to reproduce `teacher`'s embeddings of the pairs' texts; save it to `out`.

    `report`: where the training progress goes (kgbuild.core.events); `callbacks`: transformers TrainerCallbacks for
    the trainer (e.g. benchmarks/gpu_check.py's meter); `evaluator`: a sentence-transformers evaluator the trainer
    scores at every save_steps (step 4; its figures in the summary's "evaluations").
    """
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
    from sentence_transformers.sentence_transformer.losses import MSELoss

    from trainer.data import distillation_texts
    from trainer.hashing import fingerprint
    from trainer.models import model_reference
    from trainer.phase_folder import PhaseRun
    from trainer.sampler import length_grouped_batch_sampler
    from trainer.training import join_processes, train_summary, training_arguments, world_size

    run = PhaseRun(out, force=force, checkpoints=checkpoints, marker=marker, report=report, callbacks=callbacks)
    run.refuse({"--pairs": pairs_dir, "--teacher": Path(teacher), "--student": Path(student)})
    cache_dir = Path(cache_dir or run.out.parent / "cache")
    join_processes()  # under torchrun: before the models load, so the teacher's work is shared

    # 1. Load the teacher (the contrastive model) and the student (the phase-1 model, or the base)
    teacher_ref, student_ref = model_reference(teacher), model_reference(student)
    teacher_model = SentenceTransformer(teacher_ref)
    student_model = SentenceTransformer(student_ref)
    teacher_model.max_seq_length = student_model.max_seq_length = max_seq_length
    dims = teacher_model.get_embedding_dimension(), student_model.get_embedding_dimension()
    if dims[0] != dims[1]:
        raise UserError(
            f"teacher embeds in {dims[0]} dimensions, student in {dims[1]}",
            path=student_ref,
            fix="start the student from a model with the teacher's dimension (e.g. the base model)",
        )

    # 2. The training texts (distinct names, definitions, descriptions) and their teacher embeddings, cached
    texts = distillation_texts(pairs_dir, columns=config.texts, kinds=config.kinds)
    # A step budget smaller than one epoch sees only max_steps x batch texts: draw those (seeded) and let the teacher
    # embed just them, instead of the whole corpus (143k texts on HPO for the 12.8k that 400 steps of 32 learn)
    seen = config.max_steps * config.batch_size * world_size()
    if 0 < seen < len(texts):
        texts = random.Random(seed).sample(texts, seen)
    logger.info("self-distillation: %d distinct texts", len(texts))
    train_dataset, shares = teacher_embeddings(
        teacher_model, teacher_ref, texts, cache_dir, batch_size=config.encode_batch_size, report=report
    )  # columns (text, label)
    del teacher_model

    # 3. Define the loss: MSE between the student's and the teacher's embeddings
    loss = MSELoss(student_model)

    # 4. Evaluator: by default none inside the loop (`trainer run-all` scores every phase's output after it); with
    #    evaluate_during_training, the run's evaluators at every save_steps (`evaluator`: training_evaluator)

    # 5. Training arguments (group_by_length: batches of texts of similar length, by characters)
    extra = {"batch_sampler": length_grouped_batch_sampler([len(t) for t in texts])} if config.group_by_length else {}
    args = training_arguments(config, run.checkpoints, seed=seed, evaluate=evaluator is not None, **extra)

    # 6. Train
    trainer = SentenceTransformerTrainer(
        model=student_model,
        args=args,
        train_dataset=train_dataset,
        loss=loss,
        callbacks=run.callbacks,
        evaluator=evaluator,
    )
    run.train(
        trainer, PHASE.label, fingerprint(config, teacher_ref, student_ref, str(pairs_dir), max_seq_length, seed)
    )
    summary = {
        "teacher": teacher_ref,
        "student": student_ref,
        "teacher_texts_per_process": shares,  # [] when the embeddings came from the cache
        **train_summary(trainer, run.started, len(texts)),
    }

    # 7. Save: written beside `out`, renamed into place when complete (one process under DDP)
    run.save(student_model, PHASE.name, summary, config)
    return summary


def _inputs(cfg: RunConfig) -> dict[str, Any]:
    sd = cfg.self_distillation
    return {
        "teacher": cfg.resolve_model(sd.teacher),
        "student": cfg.resolve_model(sd.student),
        "pairs": cfg.data.pairs,
    }


def _run(ctx: PhaseRun, cfg: RunConfig, inputs: dict[str, Any]) -> dict[str, Any]:
    return train_self_distillation(
        inputs["teacher"],
        inputs["student"],
        inputs["pairs"],
        ctx.out,
        cfg.self_distillation,
        max_seq_length=cfg.model.max_seq_length,
        seed=cfg.model.seed,
        cache_dir=ctx.out.parent / "cache",  # run-all's: <output_dir>/cache
        evaluator=training_evaluator(cfg, cfg.self_distillation),
        **ctx.arguments(),
    )


PHASE = register(
    Phase(
        name="self_distillation",
        command="distill",
        folder="self_distillation",
        verb="training",
        label="self-distillation",
        title="2. Self-distillation",
        config=SelfDistillationConfig,
        inputs=_inputs,
        run=_run,
        help="Phase 2 (BioLORD-2023-S): the student learns the teacher's embeddings of the training texts (MSE).",
        epilog="Example: trainer distill --teacher run/contrastive --student "
        "sentence-transformers/all-mpnet-base-v2 --pairs pairs/ --out run/self_distillation",
        options=(
            Option("teacher", "--teacher", "Teacher model; default <output_dir>/contrastive."),
            Option("student", "--student", "Student start; default [self_distillation] student (the phase-1 model)."),
            PAIRS_OPTION,
        ),
        required=(PAIRS,),
        model_keys=("teacher", "student"),
    )
)
