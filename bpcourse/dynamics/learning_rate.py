r"""The learning rate on a quadratic (lesson 04).

:func:`quadratic_descent` and :func:`quadratic_descent_2d` run gradient descent on
$f(x) = \tfrac{c}{2} x^2$ (and on an ill-conditioned 2-D bowl), where a step multiplies $x$
by $1 - \eta c$: it converges for $\eta < 2/c$ and diverges for $\eta > 2/c$;
:func:`largest_stable_lr` gives that bound for any Hessian.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from bpcourse._validate import (
    as_array,
    check_positive_int,
    check_positive_number,
)
from bpcourse.optim import make_optimizer


def quadratic_regime(curvature: float, lr: float) -> str:
    r"""Name what gradient descent does on $f(x) = \tfrac{c}{2}x^2$ with step size $\eta$.

    Each step multiplies $x$ by $r = 1 - \eta c$:

    - $\eta < 1/c$ ($0 < r < 1$): ``"converges monotonically"``;
    - $\eta = 1/c$ ($r = 0$): ``"converges in one step"``;
    - $1/c < \eta < 2/c$ ($-1 < r < 0$): ``"oscillates and converges"``;
    - $\eta = 2/c$ ($r = -1$): ``"oscillates forever"``;
    - $\eta > 2/c$ ($r < -1$): ``"diverges"``.
    """
    c = check_positive_number("curvature", curvature)
    lr = check_positive_number("lr", lr)
    r = 1.0 - lr * c
    if math.isclose(r, 0.0, abs_tol=1e-12):
        return "converges in one step"
    if math.isclose(r, -1.0, abs_tol=1e-12):
        return "oscillates forever"
    if r > 0:
        return "converges monotonically"
    if r > -1:
        return "oscillates and converges"
    return "diverges"


def quadratic_descent(curvature: float, lr: float, steps: int = 20, x0: float = 1.0) -> np.ndarray:
    r"""Iterates of gradient descent on $f(x) = \tfrac{c}{2}x^2$, where $f'(x) = c\,x$.

    $x_{k+1} = x_k - \eta c\, x_k = (1 - \eta c)\, x_k$, so $x_k = (1-\eta c)^k x_0$: the
    iterates shrink when $|1 - \eta c| < 1$, i.e. $0 < \eta < 2/c$, and grow without bound when
    $\eta > 2/c$ (see :func:`quadratic_regime`).

    Args:
        curvature: $c = f''(x) > 0$.
        lr: step size $\eta > 0$.
        steps: number of steps.
        x0: starting point (finite).

    Returns:
        ``(steps + 1,)`` array $x_0, \dots, x_{steps}$; shorter if the iterates overflow
        float64 (the array ends at the last finite value).

    Example:
        >>> quadratic_descent(curvature=2.0, lr=0.75, steps=3)   # 1 - 1.5 = -0.5
        array([ 1.   , -0.5  ,  0.25 , -0.125])
    """
    c = check_positive_number("curvature", curvature)
    lr = check_positive_number("lr", lr)
    steps = check_positive_int("steps", steps)
    x = float(as_array("x0", x0, ndim=0))
    out = [x]
    for _ in range(steps):
        x = x - lr * c * x
        if not math.isfinite(x) or abs(x) > 1e300:
            break
        out.append(x)
    return np.array(out)


def quadratic_descent_2d(
    curvatures: tuple[float, float] = (1.0, 10.0),
    lr: float = 0.1,
    steps: int = 30,
    x0: tuple[float, float] = (1.0, 1.0),
    optimizer: str = "sgd",
    **optimizer_kw: Any,
) -> np.ndarray:
    r"""Gradient descent on the ill-conditioned bowl $f(x) = \tfrac12 (c_1 x_1^2 + c_2 x_2^2)$.

    The largest curvature limits the learning rate ($\eta < 2/\max c_i$), while the smallest
    sets how slowly the flat direction converges: the condition number $\max c/\min c$ is why
    plain gradient descent zig-zags across a narrow valley, and why momentum and Adam help.

    Args:
        curvatures: $(c_1, c_2)$, both > 0.
        lr: learning rate, > 0.
        steps: number of steps.
        x0: starting point $(x_1, x_2)$.
        optimizer: ``"sgd"``, ``"momentum"`` or ``"adam"`` (from :mod:`bpcourse.optim`).
        **optimizer_kw: e.g. ``momentum=0.9``.

    Returns:
        ``(steps + 1, 2)`` trajectory; shorter if the iterates overflow float64.
    """
    c = as_array("curvatures", curvatures, ndim=1)
    if c.shape != (2,) or np.any(c <= 0):
        raise ValueError(f"curvatures: expected two positive numbers, got {c.tolist()}")
    lr = check_positive_number("lr", lr)
    steps = check_positive_int("steps", steps)
    x = as_array("x0", x0, ndim=1).copy()
    if x.shape != (2,):
        raise ValueError(f"x0: expected shape (2,), got shape {x.shape}")
    opt = make_optimizer(optimizer, [x], lr, **optimizer_kw)
    out = [x.copy()]
    with np.errstate(all="ignore"):
        for _ in range(steps):
            grad = c * x
            if not np.all(np.isfinite(grad)):
                break
            opt.step([grad])
            if not np.all(np.isfinite(x)) or np.max(np.abs(x)) > 1e300:
                break
            out.append(x.copy())
    return np.array(out)


# --- the largest stable learning rate (reference of a lesson 04 exercise) --------------------


def largest_stable_lr(hessian: Any) -> float:
    r"""The largest learning rate for which gradient descent converges on a quadratic.

    On $f(\theta) = \tfrac12 \theta^\top H \theta$ (or any loss near a minimum, with $H$ its
    Hessian) one step multiplies the component of $\theta$ along the eigenvector of eigenvalue
    $\lambda$ by $1 - \eta\lambda$. Every component shrinks when $|1 - \eta\lambda| < 1$ for
    all eigenvalues, i.e. $\eta < 2 / \lambda_\max$: the steepest direction sets the limit.

    Args:
        hessian: a curvature $c > 0$ (a number, for $f(x) = \tfrac{c}{2}x^2$) or a symmetric
            ``(n, n)`` matrix $H$ with at least one positive eigenvalue.

    Returns:
        $2 / \lambda_\max(H)$ (or $2/c$).

    Raises:
        ValueError: for a non-square or non-symmetric matrix, or one without positive
            curvature (then no learning rate is too large).

    Example:
        >>> largest_stable_lr(4.0)
        0.5
        >>> largest_stable_lr([[1.0, 0.0], [0.0, 10.0]])
        0.2
    """
    H = as_array("hessian", hessian, ndim=(0, 2))
    if H.ndim == 0:
        return 2.0 / check_positive_number("hessian", float(H))
    n, m = H.shape
    if n != m or n == 0:
        raise ValueError(f"hessian: expected a square (n, n) matrix, got shape {H.shape}")
    scale = max(float(np.max(np.abs(H))), 1e-300)
    if not np.allclose(H, H.T, rtol=0.0, atol=1e-10 * scale):
        raise ValueError("hessian: expected a symmetric matrix (a Hessian is symmetric)")
    top = float(np.linalg.eigvalsh(0.5 * (H + H.T))[-1])
    if top <= 0:
        raise ValueError(
            f"hessian: expected a positive largest eigenvalue, got {top:.3g}; without "
            "positive curvature no learning rate is too large"
        )
    return 2.0 / top
