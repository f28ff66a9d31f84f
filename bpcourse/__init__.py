"""bpcourse: the helper package of a course on backpropagation.

Modules, bottom to top (nothing imports upwards):

- :mod:`bpcourse.engine`: scalar reverse-mode graph (``Value``), the object of lesson 02.
- :mod:`bpcourse.nn`: vectorized dense layers, activations, losses and ``MLP``.
- :mod:`bpcourse.gradcheck`: central differences, complex step, relative error, kinks.
- :mod:`bpcourse.symbolic`: SymPy derivations and symbolic reverse mode.
- :mod:`bpcourse.optim`: SGD, momentum, Adam and gradient clipping.
- :mod:`bpcourse.data`: small data sets made in code.
- :mod:`bpcourse.dynamics`: experiments behind the explorers (gradient norms, training runs).
- :mod:`bpcourse.plots`: matplotlib figures.
- :mod:`bpcourse.widgets`: ipywidgets explorers wired to ``dynamics`` and ``plots``.
- :mod:`bpcourse.grading`: tamper-resistant checks used by the nbgrader test cells.

Importing :mod:`bpcourse` has no side effects: it seeds nothing and edits no rcParams.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
