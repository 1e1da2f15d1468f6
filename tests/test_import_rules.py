"""The layers, read from the source with `ast`: the trainer uses kgbuild only through `kgbuild.core` and the public
`kgbuild.publish` API; nothing in kgbuild imports the trainer except the demo (the top of the stack)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Modules outside core and the publish API that the trainer may import, each with its reason.
TRAINER_EXCEPTIONS = {
    # `trainer link` reads a mention's ids as codes exactly as the KG's `codes` table was made (one reading of ids,
    # sql/seeds/code_namespaces.csv); the reader is part of the sources package, which it serves first.
    "kgbuild.sources.codes": "ids read as codes, the same way as the KG",
}
KGBUILD_MAY_IMPORT_TRAINER = {"kgbuild/demo.py"}


def imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, module, names) of every absolute import in a file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module, [alias.name for alias in node.names]))
    return found


def trainer_may_import(module: str, names: list[str]) -> bool:
    if module == "kgbuild":
        return names == ["__version__"]  # the package's own metadata
    return (
        module in ("kgbuild.core", "kgbuild.publish")
        or module.startswith("kgbuild.core.")
        or module in TRAINER_EXCEPTIONS
    )


def layer_breaks(root: Path) -> list[str]:
    broken = []
    for path in sorted((root / "trainer").rglob("*.py")):
        for line, module, names in imports(path):
            if (module == "kgbuild" or module.startswith("kgbuild.")) and not trainer_may_import(module, names):
                broken.append(f"{path.relative_to(root)}:{line} imports {module}")
    for path in sorted((root / "kgbuild").rglob("*.py")):
        if path.relative_to(root).as_posix() in KGBUILD_MAY_IMPORT_TRAINER:
            continue
        for line, module, _ in imports(path):
            if module == "trainer" or module.startswith("trainer."):
                broken.append(f"{path.relative_to(root)}:{line} imports {module}")
    return broken


def test_the_trainer_uses_kgbuild_through_core_and_the_publish_api_and_kgbuild_never_uses_the_trainer():
    assert layer_breaks(ROOT) == []


@pytest.mark.parametrize(
    ("where", "line", "expected"),
    [
        (
            "trainer/x.py",
            "from kgbuild.publish.licence import guard",
            "trainer/x.py:1 imports kgbuild.publish.licence",
        ),
        ("trainer/x.py", "import kgbuild.pairs.build", "trainer/x.py:1 imports kgbuild.pairs.build"),
        ("trainer/x.py", "from kgbuild import sqlrun", "trainer/x.py:1 imports kgbuild"),
        ("kgbuild/pairs/x.py", "from trainer.models import resolve", "kgbuild/pairs/x.py:1 imports trainer.models"),
    ],
)
def test_a_break_of_the_layers_is_found(tmp_path, where, line, expected):
    for folder in ("trainer", "kgbuild"):
        (tmp_path / folder).mkdir()
    (tmp_path / where).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / where).write_text(line + "\n")
    assert layer_breaks(tmp_path) == [expected]


@pytest.mark.parametrize("package", ["kgbuild.publish", "kgbuild.pairs", "kgbuild.llm"])
def test_a_packages_public_names_are_not_its_module_names(package):
    """A submodule, once imported, is an attribute of its package and would hide a public name of the same name."""
    module = importlib.import_module(package)
    modules = {path.stem for path in Path(module.__file__).parent.glob("*.py")}
    assert set(module.__all__) & modules == set()
    for name in module.__all__:
        assert getattr(module, name) is not None
