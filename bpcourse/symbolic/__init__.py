r"""SymPy derivations: the chain rule factor by factor, tiny networks in closed form, and a
symbolic reverse mode.

Three groups of tools, in the order the lessons meet them.

**The chain rule, symbolically (lessons 01 and 02).** A :class:`Composition` is a function
written as named stages, for example the loss of one neuron

$$z = w x + b, \qquad a = \sigma(z), \qquad L = (a - t)^2 .$$

:func:`neuron_loss` builds it for any course activation and loss, :func:`compose` builds any
other one. :func:`chain_rule_factors` lists the local factors
$\partial L/\partial a$, $\partial a/\partial z$, $\partial z/\partial w$ (each also written
in the inputs), and :func:`confirm_chain_rule` checks that their product (summed over paths
when a variable reaches the output along several) equals ``sympy.diff`` of the whole
expression, by ``simplify`` of the difference and at random points.
:func:`simplify_difference` compares any two formulas: written with exponentials first, where
hyperbolic functions such as tanh and sech cancel at once, then by ``simplify``.

**A tiny network in closed form (lesson 03).** :func:`mlp_loss_expression` writes the loss
of a small :class:`bpcourse.nn.MLP` as one SymPy expression in weight symbols ``W1_12`` (layer
1, row 1, column 2), bias symbols ``b1_2`` and data symbols ``x_11`` (sample 1, feature 1),
``y_11``; :func:`symbolic_mlp_gradients` differentiates it at a model's weights and
:func:`compare_with_mlp` measures how far ``MLP.loss_and_gradients`` is from it.

**Symbolic reverse mode (lesson 06).** ``sympy.diff`` differentiates an expression *tree*:
for the chain $L = \tfrac12(\sigma(w_L \cdots \sigma(w_1 x)) - t)^2$ the derivatives with
respect to all $L$ weights hold 70 operations at depth 2 and about 99 000 at depth 32
(expression swell). :func:`reverse_mode_gradient` walks the expression as a *graph* instead
(a repeated subexpression is one node), visits it once in reverse topological order and
applies each node's local derivative once, exactly as backpropagation does; the result is a
list of assignments over shared intermediate symbols whose size grows linearly with depth
(10 operations per layer on the chain). :func:`bpcourse.dynamics.cost_table` measures the
three ways side by side.

Conventions, shared with :mod:`bpcourse.nn`:

- ``"mse"`` is the mean over all elements of $(\hat y - y)^2$, without a factor $\tfrac12$.
- ``"relu"`` is ``Piecewise((z, z > 0), (0, True))``; its derivative, as SymPy computes it,
  is ``Piecewise((1, z > 0), (0, True))``, so the derivative at the kink $z = 0$ is 0, the
  same choice as the numeric code. ``"leaky_relu"`` uses the slope
  :data:`LEAKY_RELU_SLOPE` $= 1/100$ for $z \le 0$.
- ``"sigmoid"`` is written $1 / (1 + e^{-z})$.
- Numeric results are float64 arrays.
"""

from __future__ import annotations

from bpcourse.symbolic.chain_rule import (
    ChainRuleReport,
    Composition,
    Factor,
    chain_rule_factors,
    chain_rule_paths,
    compose,
    confirm_chain_rule,
    neuron_loss,
    simplify_difference,
)
from bpcourse.symbolic.functions import (
    ACTIVATIONS,
    LEAKY_RELU_SLOPE,
    LOSSES,
    NN_LOSSES,
    SymbolicActivation,
    SymbolicLoss,
    activate,
)
from bpcourse.symbolic.mlp import (
    MLPExpression,
    compare_with_mlp,
    mlp_loss_expression,
    symbolic_mlp_gradients,
)
from bpcourse.symbolic.numeric import evaluate, lambdify_float
from bpcourse.symbolic.reverse_mode import (
    DiffComparison,
    SymbolicGradient,
    chain_expression,
    chain_weights,
    compare_with_diff,
    count_ops,
    reverse_mode_gradient,
)

__all__ = [
    "ACTIVATIONS",
    "LEAKY_RELU_SLOPE",
    "LOSSES",
    "NN_LOSSES",
    "ChainRuleReport",
    "Composition",
    "DiffComparison",
    "Factor",
    "MLPExpression",
    "SymbolicActivation",
    "SymbolicGradient",
    "SymbolicLoss",
    "activate",
    "chain_expression",
    "chain_rule_factors",
    "chain_rule_paths",
    "chain_weights",
    "compare_with_diff",
    "compare_with_mlp",
    "compose",
    "confirm_chain_rule",
    "count_ops",
    "evaluate",
    "lambdify_float",
    "mlp_loss_expression",
    "neuron_loss",
    "reverse_mode_gradient",
    "simplify_difference",
    "symbolic_mlp_gradients",
]
