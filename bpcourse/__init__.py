"""bpcourse: the helper package of a course on backpropagation.

Modules, bottom to top (nothing imports upwards):

- :mod:`bpcourse.engine`: scalar reverse-mode graph (``Value``), the object of lesson 02.
- :mod:`bpcourse.nn`: activations, initialisations, losses, dense layers and ``MLP``,
  convolution and recurrent layers (one module each).
- :mod:`bpcourse.gradcheck`: central differences, complex step, relative error, kinks.
- :mod:`bpcourse.symbolic`: SymPy derivations, tiny networks in closed form, symbolic reverse mode.
- :mod:`bpcourse.optim`: SGD, momentum, Adam and gradient clipping.
- :mod:`bpcourse.data`: small data sets made in code.
- :mod:`bpcourse.dynamics`: experiments behind the explorers (gradient flow, training runs,
  learning rate, recurrent networks, the cost of a gradient).
- :mod:`bpcourse.plots`: matplotlib figures, one module per kind.
- :mod:`bpcourse.widgets`: ipywidgets explorers wired to ``dynamics`` and ``plots``.
- :mod:`bpcourse.grading`: tamper-resistant checks used by the nbgrader test cells.

Importing :mod:`bpcourse` has no side effects: it seeds nothing and edits no rcParams.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
