from __future__ import annotations

import pytest
import torch
from sentence_transformers import SentenceTransformer
from typer.testing import CliRunner

from kgbuild.core.errors import UserError
from tests.helpers.tiny_bert import build_tiny_model
from trainer.cli import app
from trainer.phases.weight_averaging import average_models, average_state_dicts


def random_state(seed: int, dtype=torch.float32) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        "w": torch.randn(4, 3, generator=g).to(dtype),
        "b": torch.randn(3, generator=g).to(dtype),
        "ids": torch.arange(5),
    }


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.float64])
def test_average_is_exactly_the_weighted_mean(dtype):
    states = [random_state(s, dtype) for s in (1, 2, 3)]
    before = [{k: v.clone() for k, v in s.items()} for s in states]
    averaged = average_state_dicts(states, [1.0, 2.0, 1.0])  # normalised to 0.25, 0.5, 0.25
    for key in ("w", "b"):
        expected = (
            0.25 * states[0][key].double() + 0.5 * states[1][key].double() + 0.25 * states[2][key].double()
        ).to(dtype)
        assert averaged[key].dtype == dtype
        assert torch.equal(averaged[key], expected)
    assert torch.equal(averaged["ids"], torch.arange(5))
    for state, copy in zip(states, before, strict=True):  # a pure function: inputs untouched
        assert all(torch.equal(state[k], copy[k]) for k in state)


def test_mismatched_keys_shapes_and_integer_buffers_are_refused():
    a, b = random_state(1), random_state(2)
    with pytest.raises(UserError, match="different parameters"):
        average_state_dicts([a, {k: v for k, v in b.items() if k != "b"}], [0.5, 0.5])
    with pytest.raises(UserError, match="shape"):
        average_state_dicts([a, {**b, "w": torch.zeros(3, 4)}], [0.5, 0.5])
    with pytest.raises(UserError, match="non-float"):
        average_state_dicts([a, {**b, "ids": torch.arange(1, 6)}], [0.5, 0.5])
    with pytest.raises(UserError, match="weights"):
        average_state_dicts([a, b], [0.5])
    with pytest.raises(UserError, match="at least 2"):
        average_state_dicts([a], [1.0])


def test_average_models_saves_a_loadable_model_with_the_mean_weights(tmp_path):
    first = build_tiny_model(tmp_path / "m1", seed=1)
    second = build_tiny_model(tmp_path / "m2", seed=2)
    average_models([str(first), str(second)], [0.25, 0.75], tmp_path / "avg")
    result = SentenceTransformer(str(tmp_path / "avg"), device="cpu").state_dict()
    s1 = SentenceTransformer(str(first), device="cpu").state_dict()
    s2 = SentenceTransformer(str(second), device="cpu").state_dict()
    for key, value in result.items():
        if torch.is_floating_point(value):
            assert torch.equal(value, (0.25 * s1[key].double() + 0.75 * s2[key].double()).to(value.dtype)), key
    embeddings = next(k for k in result if k.endswith("word_embeddings.weight"))
    assert not torch.equal(result[embeddings], s1[embeddings])


def test_cli_average_refuses_two_architectures_with_one_red_line(tmp_path):
    small = build_tiny_model(tmp_path / "small", hidden=32)
    wide = build_tiny_model(tmp_path / "wide", hidden=48)
    result = CliRunner().invoke(
        app, ["average", str(small), str(wide), "--weights", "1,1", "--out", str(tmp_path / "avg")]
    )
    assert result.exit_code == 1
    assert "different parameters" in result.output or "shape" in result.output
    assert not (tmp_path / "avg").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".avg")]  # nothing half-written


def test_cli_average_takes_weights_as_in_the_toml_or_comma_separated(tmp_path):
    """Issue 31, item 9: `--weights 0.5,0.5` worked, the TOML's `[0.5, 0.5]` did not."""
    first = build_tiny_model(tmp_path / "m1", seed=1)
    second = build_tiny_model(tmp_path / "m2", seed=2)
    for i, weights in enumerate(("0.25,0.75", "[0.25, 0.75]", "[1, 3]")):
        out = tmp_path / f"avg{i}"
        result = CliRunner().invoke(app, ["average", str(first), str(second), "--weights", weights, "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert "weights [0.25, 0.75]" in result.output
    bad = CliRunner().invoke(app, ["average", str(first), str(second), "--weights", "[0.5, x]", "--out", str(out)])
    assert bad.exit_code == 1 and "not a list of numbers" in bad.output and "[0.5, 0.5]" in bad.output
