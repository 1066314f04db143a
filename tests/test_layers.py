"""The one-way flow, checked: a module imports only from its own layer or the layers before it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parent.parent / "bot"

# Each layer, and the layers of the bot it may import from (config is read by anyone).
ALLOWED = {
    "search": {"search", "config"},
    "answering": {"answering", "search", "config"},
    "ops": {"ops", "answering", "search", "config"},
    "telegram": {"telegram", "ops", "answering", "search", "config"},
}


def _bot_imports(path: Path) -> set[str]:
    """The bot layers (``bot.<layer>``) a module imports, at any depth in the file."""
    layers = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names if node.module == "bot"]
        for name in names:
            parts = name.split(".")
            if parts[0] == "bot" and len(parts) > 1:
                layers.add(parts[1])
    return layers


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_no_import_runs_up_the_flow(layer):
    modules = sorted((BOT / layer).glob("*.py"))
    assert modules, f"bot/{layer}/ has no modules"
    for module in modules:
        wrong = _bot_imports(module) - ALLOWED[layer]
        assert not wrong, f"{module.relative_to(BOT.parent)} imports from bot/{sorted(wrong)}"


def test_every_module_is_in_a_layer():
    loose = {p.name for p in BOT.glob("*.py")}
    assert loose == {"__init__.py", "__main__.py", "config.py"}
    assert {p.name for p in BOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()} == set(ALLOWED)
