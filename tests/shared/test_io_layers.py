"""hepad.io: the command layer imports the library it drives, the library never imports the command layer."""

import ast
from pathlib import Path

import hepad.io

IO = Path(hepad.io.__file__).parent


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
    return out


def test_no_io_module_imports_the_command_layer():
    offenders = [p.name for p in IO.glob("*.py") if p.name != "commands.py" and "hepad.io.commands" in imported_modules(p)]
    assert offenders == [], f"hepad.io modules importing hepad.io.commands: {offenders}"


def test_the_command_layer_takes_the_manifest_from_the_library():
    from hepad.io import commands, download

    assert commands.DEFAULT_MANIFEST is download.DEFAULT_MANIFEST and download.DEFAULT_MANIFEST.is_file()
