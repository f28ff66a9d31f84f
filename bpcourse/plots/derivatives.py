"""Figures of derivatives: difference quotients and their error against the step, the
course activations with their derivatives (lesson 01), and the step-size trade-off of a
gradient check (lesson 03).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from matplotlib.figure import Figure

# --- derivatives and the chain rule (lesson 01) ---------------------------------------------


def _curves_1d(
    name: str, curves: object, size: int, parts: int, *, finite: bool = True
) -> dict[str, list[Any]]:
    """Check ``{label: array (K,)}`` (``parts == 1``) or ``{label: (array, array)}``."""
    from bpcourse._validate import as_array, describe

    if not isinstance(curves, Mapping):
        raise TypeError(f"{name}: expected a dict of curves by label, got {describe(curves)}")
    if not curves:
        raise ValueError(f"{name}: expected at least one curve, got an empty dict")
    out: dict[str, list[Any]] = {}
    for label, value in curves.items():
        if not isinstance(label, str):
            raise TypeError(f"{name}: expected str labels, got {describe(label)}")
        items = [value] if parts == 1 else value
        if parts > 1 and (not isinstance(items, (tuple, list)) or len(items) != parts):
            raise TypeError(
                f"{name}[{label!r}]: expected a pair (values, derivatives), got {describe(value)}"
            )
        arrays = []
        for i, item in enumerate(items):
            where = f"{name}[{label!r}]" + (f"[{i}]" if parts > 1 else "")
            arr = as_array(where, item, ndim=1, finite=finite)
            if arr.shape != (size,):
                raise ValueError(
                    f"{where}: expected shape ({size},) like the x values, got {arr.shape}"
                )
            arrays.append(arr)
        out[label] = arrays
    return out


def plot_difference_quotient_errors(
    h: Any,
    errors: Mapping[str, Any],
    *,
    show_rounding: bool = True,
    ylabel: str = "error of the estimate of $f'(x)$",
) -> Figure:
    r"""How far difference quotients are from the true derivative, against the step $h$.

    Both axes are logarithmic. Shrinking $h$ first helps: the truncation error falls like $h$
    for the forward quotient $(f(x+h) - f(x))/h$ and like $h^2$ for the central one
    $(f(x+h) - f(x-h))/(2h)$. Then it hurts: $f(x+h) - f(x)$ is computed with a rounding
    error of about $\varepsilon |f(x)|$ ($\varepsilon \approx 2.2 \times 10^{-16}$ in
    float64), and dividing by $h$ magnifies it to about $\varepsilon / h$. Each curve gets a
    marker at its smallest error.

    Args:
        h: the steps, shape (K,), positive.
        errors: ``{label: errors}`` (absolute or relative), each of shape (K,) and $\ge 0$,
            for example ``{"forward": ..., "central": ...}``. Exact zeros cannot be drawn on
            a log axis and are left out, and so are infinite or NaN entries (a step so small
            that $x + h$ rounds to $x$ gives $0/0$).
        show_rounding: also draw the rounding model $\varepsilon / h$ as a dashed line.
        ylabel: the label of the vertical axis (say whether the errors are absolute or
            relative).

    Returns:
        A figure with one axes.

    Raises:
        TypeError: if ``errors`` is not a dict of arrays by label.
        ValueError: on a shape mismatch, a non-positive or non-finite step, a negative error.
    """
    import numpy as np

    from bpcourse._validate import as_array

    if not isinstance(ylabel, str):
        raise TypeError(f"ylabel: expected a str, got {type(ylabel).__name__}")
    steps = as_array("h", h, ndim=1)
    if steps.size == 0 or np.any(steps <= 0):
        raise ValueError(f"h: expected positive steps in a non-empty 1-D array, got {steps}")
    curves = _curves_1d("errors", errors, steps.size, parts=1, finite=False)
    for label, (err,) in curves.items():
        if np.any(err < 0):
            raise ValueError(f"errors[{label!r}]: expected errors >= 0, got a negative one")
    fig = Figure(figsize=(6.4, 4.0), layout="constrained")
    ax = fig.add_subplot()
    for label, (err,) in curves.items():
        keep = np.isfinite(err) & (err > 0)
        (line,) = ax.loglog(steps[keep], err[keep], marker=".", label=label)
        if np.any(keep):
            best = int(np.argmin(np.where(keep, err, np.inf)))
            ax.plot(
                steps[best], err[best], marker="o", markersize=9, markerfacecolor="none",
                color=line.get_color(),
            )  # fmt: skip
            ax.annotate(
                f"best h ≈ {steps[best]:.0e}",
                (steps[best], err[best]),
                textcoords="offset points",
                xytext=(6, -14),
                color=line.get_color(),
                fontsize=9,
            )
    if show_rounding:
        eps = float(np.finfo(np.float64).eps)
        ax.loglog(
            steps,
            eps / steps,
            linestyle="--",
            color="0.5",
            label=r"rounding $\approx\varepsilon/h$",
        )
    ax.set_xlabel("step $h$")
    ax.set_ylabel(ylabel)
    ax.set_title("shrinking h helps, then hurts")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend()
    return fig


def plot_activation_derivatives(
    z: Any,
    curves: Mapping[str, tuple[Any, Any]],
    *,
    bounds: Mapping[str, float] | None = None,
) -> Figure:
    r"""Activations (left) and their derivatives (right) on the same inputs.

    Args:
        z: the inputs, shape (K,).
        curves: ``{name: (values, derivatives)}``, each array of shape (K,), for example
            ``{"sigmoid": (sigma(z), sigma'(z)), "tanh": (tanh(z), 1 - tanh(z)**2)}``.
        bounds: ``{label: level}``: horizontal dashed lines on the derivative panel, for
            example ``{"1/4": 0.25}`` for the largest slope of the sigmoid.

    Returns:
        A figure with two axes side by side.

    Raises:
        TypeError: if ``curves`` or ``bounds`` has the wrong kind of entries.
        ValueError: on a shape mismatch or a non-finite value.
    """
    from bpcourse._validate import as_array, check_finite_number, describe

    inputs = as_array("z", z, ndim=1)
    if inputs.size == 0:
        raise ValueError("z: expected at least one input value, got an empty array")
    checked = _curves_1d("curves", curves, inputs.size, parts=2)
    levels: dict[str, float] = {}
    if bounds is not None:
        if not isinstance(bounds, Mapping):
            raise TypeError(f"bounds: expected a dict {{label: level}}, got {describe(bounds)}")
        for label, level in bounds.items():
            if not isinstance(label, str):
                raise TypeError(f"bounds: expected str labels, got {describe(label)}")
            levels[label] = check_finite_number(f"bounds[{label!r}]", level)
    fig = Figure(figsize=(9.0, 3.4), layout="constrained")
    ax_f, ax_df = fig.subplots(1, 2, sharex=True)
    for name, (values, slopes) in checked.items():
        ax_f.plot(inputs, values, label=name)
        ax_df.plot(inputs, slopes, label=f"{name}'")
    for label, level in levels.items():
        ax_df.axhline(level, linestyle="--", color="0.4", linewidth=1)
        ax_df.annotate(
            label, (inputs[0], level), textcoords="offset points", xytext=(2, 3), color="0.3"
        )
    for ax, title in ((ax_f, "activation $f(z)$"), (ax_df, "derivative $f'(z)$")):
        ax.axhline(0.0, color="0.8", linewidth=0.8)
        ax.axvline(0.0, color="0.8", linewidth=0.8)
        ax.set_xlabel("$z$")
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
        ax.legend()
    return fig


# --- gradient checking (lesson 03) ----------------------------------------------------------


def plot_step_size_tradeoff(
    steps: Any,
    errors: Mapping[str, Any],
    *,
    rounding: Mapping[str, float] | None = None,
    ax: Any = None,
    title: str = "relative error of a gradient check against the step $h$",
) -> Figure:
    r"""Relative error of numerical gradients against the step $h$, one curve per method.

    Both axes are logarithmic. A finite-difference curve is a V: on the right the truncation
    error (like $h^2$ for central differences) dominates, on the left the rounding error
    (about $\varepsilon / h$, $\varepsilon$ the machine epsilon of the precision used). Each
    curve gets a ring at its smallest error, labelled with that step and error, so the
    precisions can be compared at a glance (float64 central differences bottom out near
    $h \approx 10^{-5}$, float32 near $10^{-2}$ to $10^{-3}$, the complex step keeps falling to
    machine precision).

    Args:
        steps: the steps $h$, shape (K,), positive and finite: those of every curve given as
            a plain array, and the range of the $\varepsilon / h$ lines.
        errors: ``{label: relative errors}``, each of shape (K,), for example the results of
            :func:`bpcourse.gradcheck.step_size_sweep` for several methods and precisions.
            A curve measured at other steps is given as a pair ``(its_steps, its_errors)``
            of two (M,) arrays (e.g. float32 only at steps that do not vanish in $x + h$).
            Entries must be $\ge 0$ or NaN/inf; NaN and inf (an estimate that could not be
            formed) and exact zeros cannot be drawn on a log axis and are left out.
        rounding: ``{label: epsilon}``: for each, a dashed line $\varepsilon / h$ (the
            rounding model), e.g. ``{"float64": 2.2e-16, "float32": 1.2e-7}``.
        ax: a matplotlib Axes to draw on; by default a new figure with one axes.
        title: the axes title.

    Returns:
        The figure drawn on.

    Raises:
        TypeError: if ``errors`` or ``rounding`` is not a dict by str label, or ``title`` is
            not a str.
        ValueError: on a shape mismatch, a non-positive or non-finite step, a negative error,
            an empty dict, or a non-positive epsilon.
    """
    import numpy as np

    from bpcourse._validate import as_array, check_positive_number, describe

    if not isinstance(title, str):
        raise TypeError(f"title: expected a str, got {describe(title)}")
    h = as_array("steps", steps, ndim=1)
    if h.size == 0 or np.any(h <= 0):
        raise ValueError(f"steps: expected positive steps in a non-empty 1-D array, got {h}")
    if not isinstance(errors, Mapping):
        raise TypeError(f"errors: expected a dict of error curves by label, got {describe(errors)}")
    if not errors:
        raise ValueError("errors: expected at least one curve, got an empty dict")
    curves: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for label, values in errors.items():
        if not isinstance(label, str):
            raise TypeError(f"errors: expected str labels, got {describe(label)}")
        where = f"errors[{label!r}]"
        if isinstance(values, tuple):
            if len(values) != 2:
                raise TypeError(f"{where}: expected a pair (steps, errors), got {describe(values)}")
            h_k = as_array(f"{where}[0]", values[0], ndim=1)
            if h_k.size == 0 or np.any(h_k <= 0):
                raise ValueError(f"{where}[0]: expected positive steps, got {h_k}")
            err = as_array(f"{where}[1]", values[1], ndim=1, finite=False)
            shape_of = f"{where}[0]"
        else:
            h_k = h
            err = as_array(where, values, ndim=1, finite=False)
            shape_of = "steps"
        if err.shape != h_k.shape:
            raise ValueError(
                f"{where}: expected shape {h_k.shape} like {shape_of}, got shape {err.shape}"
            )
        if np.any(err < 0):
            raise ValueError(f"{where}: expected errors >= 0, got a negative one")
        curves[label] = (h_k, err)
    epsilons: dict[str, float] = {}
    if rounding is not None:
        if not isinstance(rounding, Mapping):
            raise TypeError(
                f"rounding: expected a dict {{label: epsilon}}, got {describe(rounding)}"
            )
        for label, eps in rounding.items():
            if not isinstance(label, str):
                raise TypeError(f"rounding: expected str labels, got {describe(label)}")
            epsilons[label] = check_positive_number(f"rounding[{label!r}]", eps)

    if ax is None:
        fig = Figure(figsize=(7.0, 4.4), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    for k, (label, (h_k, err)) in enumerate(curves.items()):
        keep = np.isfinite(err) & (err > 0)
        # earlier curves on top: where two methods share a branch, the first one stays visible
        order = 3.0 + len(curves) - k
        (line,) = ax.loglog(h_k[keep], err[keep], marker=".", label=label, zorder=order)
        if not np.any(keep):
            continue
        best = int(np.argmin(np.where(keep, err, np.inf)))
        ax.plot(
            h_k[best], err[best], marker="o", markersize=10, markerfacecolor="none",
            color=line.get_color(), zorder=order,
        )  # fmt: skip
        ax.annotate(
            f"h={h_k[best]:.0e}: {err[best]:.0e}",
            (h_k[best], err[best]),
            textcoords="offset points",
            xytext=(6, -13),
            color=line.get_color(),
            fontsize=8,
        )
    dashes = ("--", ":", "-.")
    for k, (label, eps) in enumerate(epsilons.items()):
        ax.loglog(
            h, eps / h, linestyle=dashes[k % len(dashes)], linewidth=1, color="0.45",
            label=f"ε/h ({label})", zorder=2.0,
        )  # fmt: skip
    finite = np.concatenate([e[np.isfinite(e) & (e > 0)] for _, e in curves.values()])
    if finite.size:
        ax.set_ylim(max(finite.min() / 30, 1e-18), min(max(finite.max() * 5, 1e-12), 10.0))
    ax.set_xlabel("step $h$")
    ax.set_ylabel("relative error (largest entry)")
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8)
    return fig
