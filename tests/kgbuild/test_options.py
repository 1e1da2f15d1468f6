"""Options models are the one source of defaults: a command's option takes its default and help from the field."""

from __future__ import annotations

import dataclasses

import click
import typer
from typer.testing import CliRunner

from kgbuild.cli import app
from kgbuild.core.options import described, option
from kgbuild.llm.config import CheckConfig, GenerateConfig, RetryPolicy
from kgbuild.pairs import PairOptions


@dataclasses.dataclass(frozen=True)
class Knobs:
    size: int = described(7, "How big.")


def test_an_option_built_from_a_field_has_its_default_and_help():
    seen = {}
    one = typer.Typer()

    @one.command()
    def run(size: int = option(Knobs, "size", "--size")) -> None:
        seen["size"] = size

    assert CliRunner().invoke(one, []).exit_code == 0 and seen == {"size": 7}
    assert "How big." in CliRunner().invoke(one, ["--help"]).output


def _params(command: str) -> dict[str, click.Parameter]:
    group = typer.main.get_command(app)
    return {p.name: p for p in group.commands[command].params}


def test_the_commands_defaults_are_the_libraries():
    fields = {
        **{f.name: f for f in dataclasses.fields(GenerateConfig)},
        "timeout": next(f for f in dataclasses.fields(GenerateConfig) if f.name == "timeout_s"),
        "poll": next(f for f in dataclasses.fields(GenerateConfig) if f.name == "batch_poll_s"),
        "max_enqueued_tokens": next(
            f for f in dataclasses.fields(GenerateConfig) if f.name == "batch_max_enqueued_tokens"
        ),
        **{f.name: f for f in dataclasses.fields(RetryPolicy) if f.name == "max_attempts"},
        **{f.name: f for f in dataclasses.fields(CheckConfig)},
    }
    generate = _params("generate-definitions")
    for name, field in fields.items():
        if name in generate:
            assert generate[name].default == field.default and generate[name].help == field.metadata["help"], name
    pairs = _params("build-pairs")
    for field in dataclasses.fields(PairOptions):
        if field.name in pairs:
            assert pairs[field.name].help == field.metadata["help"], field.name
            assert pairs[field.name].default == field.default, field.name


def test_publish_and_push_share_one_option_block():
    from kgbuild.publish import PUBLISH_FLAGS, PublishOptions
    from trainer.cli import app as trainer_app

    publish = _params("publish")
    push = {p.name: p for p in typer.main.get_command(trainer_app).commands["push"].params}
    for name in PUBLISH_FLAGS:
        field = next(f for f in dataclasses.fields(PublishOptions) if f.name == name)
        for params in (publish, push):
            assert params[name].help == field.metadata["help"] and params[name].opts == [PUBLISH_FLAGS[name]], name
