"""Plausible wrong answers to the exercises of lesson 05; each must fail its test."""


def _norms(expression: str) -> str:
    return f'''
def gradient_norms_from_trace(trace):
    """One gradient norm per layer."""
    return np.array([{expression}])
'''


def _bound(body: str, ratio: str = "1 / sigmoid_bound(19)") -> str:
    return f'''
def sigmoid_bound(k):
    """Upper bound on how much k sigmoid layers can scale the error signal."""
    return {body}


min_ratio_depth_20 = {ratio}
'''


def _std(normal: str, xavier: str, he: str) -> str:
    return f'''
def init_std(init, n_in, n_out):
    """Standard deviation of the initial weights."""
    values = {{"normal": {normal}, "xavier": {xavier}, "he": {he}}}
    return float(values[init])
'''


_XAVIER = "np.sqrt(2.0 / (n_in + n_out))"
_HE = "np.sqrt(2.0 / n_in)"


def _relu(init: str, ratio: str = "relu_norms[-1] / relu_norms[0]", measured: str = "") -> str:
    measured = measured or init
    return f'''
relu_init = "{init}"
relu_norms = dynamics.layer_gradient_norms(20, 30, "relu", "{measured}")
relu_ratio = {ratio}
'''


def _clip(body: str) -> str:
    return f'''
def clip_by_global_norm(grads, max_norm):
    """Scale all arrays in grads together so that their global L2 norm is at most max_norm."""
{body}
'''


WRONG_ANSWERS = {
    "l05_gradient_norms": [
        (
            "activations instead of deltas",
            _norms("np.linalg.norm(A) for A in trace.A[1:]"),
            "activations",
        ),
        (
            "reversed order",
            _norms("np.linalg.norm(d.sum(axis=0)) for d in trace.deltas[::-1]"),
            "reversed",
        ),
        (
            "norm of the whole delta matrix",
            _norms("np.linalg.norm(d) for d in trace.deltas"),
            "sum delta over the batch",
        ),
        (
            "mean over the batch",
            _norms("np.linalg.norm(d.mean(axis=0)) for d in trace.deltas"),
            "averaged",
        ),
        (
            "weight gradients",
            _norms("np.linalg.norm(dW) for dW in trace.dweights"),
            "weight gradients",
        ),
        (
            "hidden layers only",
            _norms("np.linalg.norm(d.sum(axis=0)) for d in trace.deltas[:-1]"),
            "shape",
        ),
    ],
    "l05_sigmoid_bound": [
        ("inverted bound", _bound("4.0 ** k"), "inverse"),
        ("slope 1/2", _bound("0.5 ** k"), "not 1/2"),
        ("20 steps instead of 19", _bound("0.25 ** k", "1 / sigmoid_bound(20)"), "19 steps"),
        ("first over last", _bound("0.25 ** k", "sigmoid_bound(19)"), "first/last"),
        ("one step only", _bound("0.25 ** k", "4.0"), "layer 20 to layer 19"),
    ],
    "l05_init_std": [
        ("variances", _std("1.0", "2.0 / (n_in + n_out)", "2.0 / n_in"), "variance"),
        ("Xavier with fan-in only", _std("1.0", "np.sqrt(1.0 / n_in)", _HE), "fan-out"),
        ("He without the factor 2", _std("1.0", _XAVIER, "np.sqrt(1.0 / n_in)"), "2 / n_in"),
        ("He with fan-out", _std("1.0", _XAVIER, "np.sqrt(2.0 / n_out)"), "number of inputs"),
        ("normal scaled by width", _std("np.sqrt(1.0 / n_in)", _XAVIER, _HE), "init_std"),
    ],
    "l05_relu_init": [
        ("chose Xavier", _relu("xavier"), "not the right choice"),
        ("chose plain normal", _relu("normal"), "not the right choice"),
        ("first over last", _relu("he", "relu_norms[0] / relu_norms[-1]"), "first/last"),
        ("measured with another init", _relu("he", measured="xavier"), "Xavier weights"),
        ("a name that is not an option", _relu("kaiming", measured="he"), "choose one of"),
    ],
    "l05_clip_by_global_norm": [
        (
            "per-array norm",
            _clip(
                "    return [g * min(1.0, max_norm / np.linalg.norm(g)) if np.linalg.norm(g) > 0"
                " else g for g in grads]"
            ),
            "on its own",
        ),
        (
            "clips even when below the threshold",
            _clip(
                "    total = np.sqrt(sum(np.sum(g * g) for g in grads))\n"
                "    return [g * max_norm / total for g in grads]"
            ),
            "already below",
        ),
        ("returns the gradients unscaled", _clip("    return list(grads)"), "unscaled"),
        (
            "sum of the norms",
            _clip(
                "    total = sum(np.linalg.norm(g) for g in grads)\n"
                "    return [g * min(1.0, max_norm / total) for g in grads]"
            ),
            "sum of all squares",
        ),
        (
            "clips by value",
            _clip("    return [np.clip(g, -max_norm, max_norm) for g in grads]"),
            "clip_by_global_norm",
        ),
        (
            "squared norm",
            _clip(
                "    total = sum(np.sum(g * g) for g in grads)\n"
                "    return [g * min(1.0, max_norm / total) for g in grads]"
            ),
            "clip_by_global_norm",
        ),
    ],
}
