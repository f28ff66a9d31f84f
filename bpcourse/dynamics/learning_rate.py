r"""The learning rate on a quadratic (lesson 04).

:func:`quadratic_descent` and :func:`quadratic_descent_2d` run gradient descent on
$f(x) = \tfrac{c}{2} x^2$ (and on an ill-conditioned 2-D bowl), where a step multiplies $x$
by $1 - \eta c$: it converges for $\eta < 2/c$ and diverges for $\eta > 2/c$;
:func:`largest_stable_lr` gives that bound for any Hessian. :func:`mode_rate` is the factor
per step along one eigen-direction, with or without momentum, and :func:`optimal_settings` the
fastest fixed learning rate and momentum for a range of curvatures.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from bpcourse._validate import (
    as_array,
    check_positive_int,
    check_positive_number,
    check_probability,
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


# --- momentum on a quadratic: one rate per eigen-direction (lesson 04) --------------------------


def mode_rate(curvature: Any, lr: float, momentum: float = 0.0) -> Any:
    r"""How much one eigen-direction of a quadratic shrinks per step, in the long run.

    Along an eigenvector of the Hessian with eigenvalue (curvature) $\lambda$, the heavy-ball
    method of :func:`bpcourse.optim.momentum_step` ($v \leftarrow \mu v + g$,
    $\theta \leftarrow \theta - \eta v$) is the linear recurrence

    $$\begin{pmatrix} x_{k+1} \\ v_{k+1} \end{pmatrix} =
    \begin{pmatrix} 1 - \eta\lambda & -\eta\mu \\ \lambda & \mu \end{pmatrix}
    \begin{pmatrix} x_k \\ v_k \end{pmatrix},$$

    whose matrix has the characteristic polynomial $z^2 - (1 + \mu - \eta\lambda)\,z + \mu$.
    The rate is the larger modulus of its two roots: the error along that direction
    shrinks like $\text{rate}^k$ (grows if the rate exceeds 1). With $\mu = 0$ it is plain
    gradient descent's $|1 - \eta\lambda|$. When the roots are complex (the direction
    oscillates) both have modulus $\sqrt{\mu}$, whatever $\lambda$ is. The method converges
    along the direction exactly when $0 < \eta\lambda < 2(1 + \mu)$.

    Args:
        curvature: $\lambda > 0$, a number or an array of them (one per direction).
        lr: the learning rate $\eta > 0$.
        momentum: $\mu \in [0, 1)$.

    Returns:
        The rate, a float (or an array shaped like ``curvature``).

    Example:
        >>> round(mode_rate(1.0, 0.038), 3), round(mode_rate(50.0, 0.038), 3)
        (0.962, 0.9)
    """
    lam = as_array("curvature", curvature)
    if lam.size == 0 or not np.all(np.isfinite(lam)) or np.any(lam <= 0):
        raise ValueError(f"curvature: expected positive numbers, got {lam.tolist()}")
    lr = check_positive_number("lr", lr)
    mu = check_probability("momentum", momentum)
    trace = 1.0 + mu - lr * lam
    disc = trace**2 - 4.0 * mu
    real_roots = np.abs(trace) / 2.0 + np.sqrt(np.maximum(disc, 0.0)) / 2.0
    rate = np.where(disc >= 0.0, real_roots, math.sqrt(mu))
    return float(rate) if np.ndim(curvature) == 0 else rate


class OptimalSettings(NamedTuple):
    r"""The best fixed learning rate (and momentum) for curvatures in one interval.

    Attributes:
        method: ``"sgd"`` or ``"momentum"``.
        lr: the learning rate $\eta$.
        momentum: $\mu$ (0 for plain gradient descent).
        rate: the worst per-step factor over all curvatures in the interval.
        steps_per_digit: steps for the slowest direction to lose a factor 10,
            $\ln 10 / (-\ln \text{rate})$.
    """

    method: str
    lr: float
    momentum: float
    rate: float
    steps_per_digit: float


def optimal_settings(
    lambda_min: float, lambda_max: float, method: str = "momentum"
) -> OptimalSettings:
    r"""The fixed learning rate (and momentum) that converge fastest on a quadratic whose
    Hessian eigenvalues lie in $[\lambda_\text{min}, \lambda_\text{max}]$; the condition number
    is $\kappa = \lambda_\text{max}/\lambda_\text{min}$.

    - Plain gradient descent: $\eta = 2/(\lambda_\text{min} + \lambda_\text{max})$ makes the
      rates of the flattest and the steepest direction equal, at $(\kappa - 1)/(\kappa + 1)$.
    - Momentum (Polyak's heavy ball, as in G. Goh, "Why momentum really works", Distill 2017):
      $\eta = \big(2/(\sqrt{\lambda_\text{max}} + \sqrt{\lambda_\text{min}})\big)^2$ and
      $\mu = \big((\sqrt\kappa - 1)/(\sqrt\kappa + 1)\big)^2$ put every direction in the
      oscillating regime with the same rate $\sqrt\mu = (\sqrt\kappa - 1)/(\sqrt\kappa + 1)$.

    For large $\kappa$ the number of steps per digit grows like $\kappa$ for gradient descent
    and like $\sqrt\kappa$ with momentum: that is the speed-up.

    Args:
        lambda_min: the smallest curvature, > 0.
        lambda_max: the largest curvature, >= ``lambda_min``.
        method: ``"sgd"`` or ``"momentum"``.

    Returns:
        An :class:`OptimalSettings`.

    Example:
        >>> gd, hb = optimal_settings(1.0, 50.0, "sgd"), optimal_settings(1.0, 50.0)
        >>> round(gd.rate, 3), round(hb.rate, 3)
        (0.961, 0.752)
        >>> round(gd.steps_per_digit), round(hb.steps_per_digit)
        (58, 8)
    """
    lo = check_positive_number("lambda_min", lambda_min)
    hi = check_positive_number("lambda_max", lambda_max)
    if hi < lo:
        raise ValueError(f"lambda_max: expected a number >= lambda_min={lo!r}, got {lambda_max!r}")
    if method not in ("sgd", "momentum"):
        raise ValueError(f"method: expected one of ['sgd', 'momentum'], got {method!r}")
    if method == "sgd":
        lr, mu = 2.0 / (lo + hi), 0.0
        rate = (hi - lo) / (hi + lo)
    else:
        s_lo, s_hi = math.sqrt(lo), math.sqrt(hi)
        lr = (2.0 / (s_hi + s_lo)) ** 2
        rate = (s_hi - s_lo) / (s_hi + s_lo)
        mu = rate**2
    steps = math.inf if rate >= 1.0 else (0.0 if rate == 0.0 else math.log(10.0) / -math.log(rate))
    return OptimalSettings(method, lr, mu, rate, steps)
