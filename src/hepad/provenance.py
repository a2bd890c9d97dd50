"""Code versions of the workflow's steps, derived from what they import (never listed by hand).

`code_version(src, "hepad.resonant.steps:evaluate")` hashes the sources a step can run: its
module, the modules that module imports at its top, the imports inside the named function, and
recursively everything those modules import (at their top or inside any function), plus the
packages' __init__ files on the way. A string literal naming a hepad module ("hepad.x.y" or
"hepad.x.y:attr", as in lazy registries) counts as an import. A rule carries this hash as a
param, so editing any module its step imports (directly or not) reruns it, and nothing else does.

`only` narrows a registry to what one job can run: {"hepad.resonant.methods": {"...methods.cwola",
"...methods.base"}} follows, of everything that module imports or names, those modules alone (its
own file is still hashed), so that a method's jobs do not depend on the other methods' code.
The hash is of each file's syntax tree (ast.dump), not its bytes: a comment, a blank line or a
reformatting changes nothing; any change to what runs (docstrings included) does.
"""

from __future__ import annotations

import ast
import hashlib
import re
from functools import lru_cache
from pathlib import Path

_MODULE_STRING = re.compile(r"^(hepad(?:\.\w+)*)(?::\w+)?$")


def module_file(src: Path, module: str) -> Path | None:
    base = Path(src) / module.replace(".", "/")
    for f in (base.with_suffix(".py"), base / "__init__.py"):
        if f.is_file():
            return f
    return None


def _tree(path: Path) -> ast.Module:
    return _parse(path.read_text(), str(path))


@lru_cache(maxsize=None)
def _parse(text: str, name: str) -> ast.Module:  # keyed on the text: an edited file is parsed anew
    return ast.parse(text, name)


@lru_cache(maxsize=None)
def _syntax(text: str, name: str) -> bytes:
    """What is hashed of a file: its syntax tree, without comments and layout."""
    return ast.dump(_parse(text, name)).encode()


def _imported(node: ast.AST, module: str, is_package: bool) -> set[str]:
    """hepad modules imported anywhere below `node` (candidates: a name may be a module or an attribute)."""
    out = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Import):
            out |= {a.name for a in n.names}
        elif isinstance(n, ast.ImportFrom):
            base = n.module or ""
            if n.level:  # relative import
                parts = module.split(".")[: len(module.split(".")) - n.level + (1 if is_package else 0)]
                base = ".".join(parts + ([base] if base else []))
            out.add(base)
            out |= {f"{base}.{a.name}" for a in n.names}
        elif isinstance(n, ast.Constant) and isinstance(n.value, str) and (m := _MODULE_STRING.match(n.value)):
            out.add(m.group(1))
    return {m for m in out if m == "hepad" or m.startswith("hepad.")}


@lru_cache(maxsize=None)
def _module_imports(text: str, name: str, module: str) -> frozenset[str]:
    """hepad modules a whole module (its top and every function) imports or names."""
    return frozenset(_imported(_parse(text, name), module, name.endswith("__init__.py")))


def _top_level(tree: ast.Module) -> ast.Module:
    """The module without its functions (what runs at import)."""
    body = [s for s in tree.body if not isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))]
    return ast.Module(body=body, type_ignores=[])


def _reached(functions: dict, name: str) -> list[ast.AST]:
    """`name` and the module-level functions it refers to, transitively."""
    out, todo = {}, [name]
    while todo:
        n = todo.pop()
        if n in out or n not in functions:
            continue
        out[n] = functions[n]
        todo += [x.id for x in ast.walk(functions[n]) if isinstance(x, ast.Name)]
    return list(out.values())


def closure(src: Path, *targets: str, only: dict[str, set[str]] | None = None) -> list[Path]:
    """Source files a step can run; targets are "module" (all of it) or "module:function"; `only`:
    registry module -> the modules it leads to that are followed (module docstring)."""
    only = only or {}
    src = Path(src)
    files: set[Path] = set()
    seen: set[str] = set()
    todo: list[str] = []
    for t in targets:
        module, _, function = t.partition(":")
        f = module_file(src, module)
        if f is None:
            raise ValueError(f"code_version: no module {module!r} under {src}")
        if not function:
            todo.append(module)
            continue
        tree = _tree(f)
        functions = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
        if function not in functions:
            raise ValueError(f"code_version: {module} has no function {function!r}")
        files.add(f)
        pkg = f.name == "__init__.py"
        todo += _parents(module) + sorted(_imported(_top_level(tree), module, pkg))
        for fn in _reached(functions, function):  # the function and the module's functions it uses
            todo += sorted(_imported(fn, module, pkg))
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        seen.add(m)
        f = module_file(src, m)
        if f is None:  # an attribute (from hepad.x import name), not a module
            continue
        files.add(f)
        reached = _module_imports(f.read_text(), str(f), m)
        todo += _parents(m) + sorted(reached & only[m] if m in only else reached)
    return sorted(files)


def _parents(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def code_version(src: Path, *targets: str, only: dict[str, set[str]] | None = None) -> str:
    """12-hex-digit hash of the sources in closure(src, *targets, only=only): their paths and syntax
    trees (comments and layout left out)."""
    h = hashlib.sha256()
    for f in closure(src, *targets, only=only):
        h.update(f.relative_to(src).as_posix().encode() + b"\0" + _syntax(f.read_text(), str(f)) + b"\0")
    return h.hexdigest()[:12]
