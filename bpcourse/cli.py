"""Alias of :mod:`bpcourse.autograde.cli`, the ``bpcourse`` command.

Kept so that ``python -m bpcourse.cli release-all`` (what ``make lessons`` did before the
command moved) and imports of its helpers from ``bpcourse.cli`` keep working.
"""

from __future__ import annotations

import sys

from bpcourse.autograde.cli import (
    assignment_ids,
    ensure_tools_on_path,
    generate_release,
    load_config,
    main,
    notebooks_with_outputs,
    release_differences,
)

__all__ = [
    "assignment_ids",
    "ensure_tools_on_path",
    "generate_release",
    "load_config",
    "main",
    "notebooks_with_outputs",
    "release_differences",
]

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
