"""Names a notebook cell binds by import and names it reads, found without running it.

:class:`bpcourse.autograde.preprocessors.ResilientExecute` uses them to know which names of a
read-only setup cell a test cell relies on (and so must still hold the same objects).
"""

from __future__ import annotations

import ast

__all__ = ["imported_names", "loaded_names"]


def _python_source(source: str) -> ast.Module | None:
    """Parse a cell (IPython magics turned into Python first); None if it does not parse."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        code = TransformerManager().transform_cell(source)
    except Exception:  # IPython cannot transform it: fall back to the raw source
        code = source
    try:
        return ast.parse(code)
    except (SyntaxError, ValueError):
        return None


def imported_names(source: str) -> set[str]:
    """Names that ``import`` statements at the top level of a cell bind (``import a.b`` binds a)."""
    tree = _python_source(source)
    names: set[str] = set()
    if tree is None:
        return names
    for node in tree.body:
        if isinstance(node, ast.Import):
            names.update(a.asname or a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.update(a.asname or a.name for a in node.names if a.name != "*")
    return names


def loaded_names(source: str) -> set[str]:
    """Every name a cell reads (``ast.Name`` in load context, anywhere in the cell)."""
    tree = _python_source(source)
    if tree is None:
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
