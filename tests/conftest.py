"""Shared pytest configuration: Hypothesis profiles, headless matplotlib, shared helpers.

The tests live in folders by product (maths/, experiments/, lessons/, browser/, and the
autograding ones); the helpers they share (strategies, printout, course_utils, ...) stay here,
beside this file, which puts this folder on ``sys.path`` so that every folder imports them the
same way, whatever pytest's import mode.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import matplotlib
from hypothesis import HealthCheck, settings

matplotlib.use("Agg")

HELPERS = str(Path(__file__).resolve().parent)
if HELPERS not in sys.path:
    sys.path.insert(0, HELPERS)

# "ci" is deterministic (a fixed seed through derandomize) and is the default, so every run of
# the suite tries the same examples; "dev" explores more and at random.
settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile("dev", max_examples=300, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
