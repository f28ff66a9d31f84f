"""Gradient descent drawn on its loss landscape: the 1-D quadratic and the 2-D bowl (lesson 04)."""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure

from bpcourse.plots._common import _new_axes


def plot_quadratic_descent(
    trajectory: Any,
    curvature: Any,
    lr: float | None = None,
    ax: Any = None,
    title: str | None = None,
) -> Figure:
    r"""Gradient-descent iterates on a quadratic bowl.

    One dimension: the parabola $f(x) = \tfrac{c}{2}x^2$ with the iterates $x_0, x_1, \dots$
    drawn on it and joined in order, so that a zig-zag (oscillation) or an outward spiral
    (divergence) is visible. Two dimensions: level sets of $\tfrac12(c_1 x_1^2 + c_2 x_2^2)$
    and the path of the iterates.

    Args:
        trajectory: ``(K,)`` from :func:`bpcourse.dynamics.quadratic_descent` or ``(K, 2)``
            from :func:`bpcourse.dynamics.quadratic_descent_2d`.
        curvature: $c$ (a number) for 1-D, $(c_1, c_2)$ for 2-D.
        lr: the learning rate, shown in the title with the threshold $2/c$.
        ax: axes to draw on (a new figure when omitted).
        title: overrides the automatic title.

    Returns:
        The figure drawn on.
    """
    import numpy as np

    traj = np.asarray(trajectory, dtype=float)
    if traj.ndim not in (1, 2) or (traj.ndim == 2 and traj.shape[1] != 2) or traj.shape[0] < 1:
        raise ValueError(f"trajectory: expected shape (K,) or (K, 2), got shape {traj.shape}")
    curv = np.atleast_1d(np.asarray(curvature, dtype=float))
    if curv.shape != ((1,) if traj.ndim == 1 else (2,)) or not np.all(curv > 0):
        raise ValueError(
            f"curvature: expected {'one positive number' if traj.ndim == 1 else 'two positive'}"
            f" curvature(s) for a trajectory of shape {traj.shape}, "
            f"got {np.asarray(curvature).tolist()}"
        )
    fig, ax = _new_axes(ax, (5.0, 3.6))
    start = float(np.max(np.abs(traj[0]))) or 1.0
    # show the iterates that stay within a window around the start (divergence leaves it)
    inside = np.all(np.abs(traj).reshape(len(traj), -1) <= 4.0 * start, axis=1)
    n_shown = int(np.argmin(inside)) if not inside.all() else len(traj)
    shown = traj[: max(n_shown, 1)]
    if traj.ndim == 1:
        c = float(curv[0])
        half = 1.15 * max(float(np.max(np.abs(shown))), start)
        xs = np.linspace(-half, half, 200)
        ax.plot(xs, 0.5 * c * xs**2, color="0.6", lw=1.2)
        points = np.column_stack([shown, 0.5 * c * shown**2])
        ax.set_xlabel("$x$")
        ax.set_ylabel(r"$f(x) = \frac{c}{2}x^2$")
        limit = 2.0 / c
    else:
        half = 1.15 * max(float(np.max(np.abs(shown))), start)
        g = np.linspace(-half, half, 240)
        G1, G2 = np.meshgrid(g, g)
        # Geometrically spaced levels from deep inside the valley (closed ellipses that show
        # its shape) up to the corners of the window; equal axes, so a narrow valley looks
        # narrow.
        levels = np.geomspace(
            0.5 * float(curv.min()) * (0.08 * half) ** 2, 0.5 * float(curv.sum()) * half**2, 14
        )
        ax.contour(G1, G2, 0.5 * (curv[0] * G1**2 + curv[1] * G2**2), levels=levels, colors="0.7")
        ax.set_aspect("equal")
        points = shown
        ax.set_xlabel("$x_1$")
        ax.set_ylabel("$x_2$")
        limit = 2.0 / float(curv.max())
    ax.plot(points[:, 0], points[:, 1], "-o", color="C0", ms=3.5, lw=1)
    ax.plot(points[:1, 0], points[:1, 1], "o", color="C3", ms=7)
    ax.annotate(
        "start", points[0], xytext=(6, 6), textcoords="offset points", color="C3", fontsize=9
    )
    if title is None:
        if n_shown < len(traj):
            status = f"diverging (leaves the plot after step {n_shown - 1})"
        else:
            status = f"{len(traj) - 1} steps"
        title = status if lr is None else f"lr = {lr:.3g}, 2/c = {limit:.3g}: {status}"
    ax.set_title(title, fontsize=10)
    return fig


def plot_mode_rates(
    lambda_min: float,
    lambda_max: float,
    settings: Any,
    ax: Any = None,
    title: str | None = None,
) -> Figure:
    r"""Per-step factor of every eigen-direction of a quadratic, for a few optimizer settings.

    For each setting ``(label, lr, momentum)`` the curve is
    :func:`bpcourse.dynamics.mode_rate` over the curvatures $\lambda$ from
    $\lambda_\text{min}/2$ to $2\lambda_\text{max}$ (log axis); the band
    $[\lambda_\text{min}, \lambda_\text{max}]$ holding the problem's curvatures is shaded.
    The slowest direction of a setting is the highest point of its curve inside the band,
    and a curve above 1 there means divergence.

    Args:
        lambda_min: smallest curvature of the problem, > 0.
        lambda_max: largest curvature, >= ``lambda_min``.
        settings: a list of ``(label, lr, momentum)``.
        ax: axes to draw on (a new figure when omitted).
        title: axes title.

    Returns:
        The figure drawn on.
    """
    import numpy as np

    from bpcourse._validate import describe
    from bpcourse.dynamics import mode_rate, optimal_settings

    optimal_settings(lambda_min, lambda_max, "sgd")  # validates the interval
    items = list(settings) if isinstance(settings, (list, tuple)) else None
    if not items or not all(isinstance(s, (list, tuple)) and len(s) == 3 for s in items):
        raise ValueError(
            "settings: expected a non-empty list of (label, lr, momentum), "
            f"got {describe(settings)}"
        )
    fig, ax = _new_axes(ax, (6.0, 3.6))
    # the band's ends exactly: the factor can change steeply there
    lam = np.union1d(
        np.geomspace(lambda_min / 2.0, 2.0 * lambda_max, 400), [lambda_min, lambda_max]
    )
    inside = (lam >= lambda_min) & (lam <= lambda_max)
    ax.axvspan(lambda_min, lambda_max, color="0.92", zorder=0)
    for i, (label, lr, momentum) in enumerate(items):
        rate = mode_rate(lam, lr, momentum)
        worst = float(np.max(rate[inside]))
        ax.plot(lam, rate, color=f"C{i}", lw=1.6, label=f"{label}: slowest {worst:.3f}")
    ax.axhline(1.0, color="0.4", lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set_ylim(0.0, 1.2)
    ax.set_xlabel(r"curvature $\lambda$ of an eigen-direction")
    ax.set_ylabel("factor per step")
    ax.legend(fontsize=8, loc="lower left")
    if title is not None:
        ax.set_title(title, fontsize=10)
    return fig
