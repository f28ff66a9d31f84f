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


# --- answers that hand the work to the package, in-place answers, right answers ----------------
from course_utils import delegating_answers  # noqa: E402

WRONG_ANSWERS["l05_gradient_norms"] += delegating_answers(
    "gradient_norms_from_trace", "bpcourse.dynamics", "trace_gradient_norms", keep_solution=False
)
WRONG_ANSWERS["l05_sigmoid_bound"] += [
    (
        "sigmoid_bound read off dynamics.theoretical_gradient_scale",
        """
import bpcourse.dynamics as _d

def sigmoid_bound(k):
    return _d.theoretical_gradient_scale(k + 1, "sigmoid", "lecun", 30).scale[0]

min_ratio_depth_20 = 4.0 ** 19
""",
        "own implementation",
    ),
]
WRONG_ANSWERS["l05_init_std"] += [
    (
        "measures the spread of weights drawn by nn.init_weights",
        """
from bpcourse.nn import init_weights as _draw

def init_std(init, n_in, n_out):
    return float(np.std(np.concatenate([_draw(init, n_in, n_out, s).ravel()
                                        for s in range(max(1, 200_000 // (n_in * n_out)))])))
""",
        "own implementation",
    ),
]
WRONG_ANSWERS["l05_clip_by_global_norm"] += [
    (
        "delegates to optim.clip_grad_norm (direct call)",
        "import bpcourse.optim\ndef clip_by_global_norm(grads, max_norm):\n"
        "    return bpcourse.optim.clip_grad_norm(grads, max_norm)[0]\n",
        "own implementation",
    ),
    (
        "delegates to optim.clip_grad_norm (through dynamics' namespace)",
        "import bpcourse.dynamics\ndef clip_by_global_norm(grads, max_norm):\n"
        "    return getattr(bpcourse.dynamics.training, 'clip_grad_norm')(grads, max_norm)[0]\n",
        "own implementation",
    ),
    (
        "scales the arrays in place",
        """
def clip_by_global_norm(grads, max_norm):
    total = np.sqrt(sum(np.sum(g * g) for g in grads))
    if total > max_norm:
        for g in grads:
            g *= max_norm / total
    return list(grads)
""",
        "changed its input",
    ),
    (
        "returns the list it was given when nothing is clipped",
        """
def clip_by_global_norm(grads, max_norm):
    total = np.sqrt(sum(np.sum(g * g) for g in grads))
    if total <= max_norm:
        return grads
    return [g * (max_norm / total) for g in grads]
""",
        "clip_by_global_norm",
    ),
]

RIGHT_ANSWERS = {
    "l05_gradient_norms": [
        (
            "a loop with np.sqrt of squares",
            """
def gradient_norms_from_trace(trace):
    out = []
    for delta in trace.deltas:
        s = np.sum(delta, axis=0)
        out.append(np.sqrt(np.sum(s ** 2)))
    return np.array(out)
""",
        ),
        (
            "ones-vector product and a helper named trace_gradient_norms",
            """
def trace_gradient_norms(deltas):
    return np.array([np.linalg.norm(np.ones(len(d)) @ d) for d in deltas])

def gradient_norms_from_trace(trace):
    return trace_gradient_norms(trace.deltas)
""",
        ),
    ],
    "l05_sigmoid_bound": [
        (
            "exact SymPy numbers",
            """
import sympy as sp

def sigmoid_bound(k):
    return sp.Rational(1, 4) ** k

min_ratio_depth_20 = sp.Integer(4) ** 19
""",
        ),
        (
            "powers of two",
            """
def sigmoid_bound(k):
    return 2.0 ** (-2 * k)

min_ratio_depth_20 = 2 ** 38
""",
        ),
    ],
    "l05_init_std": [
        (
            "if/elif and math.sqrt",
            """
import math

def init_std(init, n_in, n_out):
    if init == "normal":
        return 1.0
    if init == "xavier":
        return math.sqrt(2 / (n_in + n_out))
    return math.sqrt(2 / n_in)
""",
        ),
        (
            "a dict of lambdas named like the package's",
            """
INITS = {"normal": lambda a, b: 1.0, "xavier": lambda a, b: (2 / (a + b)) ** 0.5,
         "he": lambda a, b: (2 / a) ** 0.5}

def init_std(init, n_in, n_out):
    return INITS[init](n_in, n_out)
""",
        ),
    ],
    "l05_relu_init": [
        (
            "the ratio computed from the norms inline",
            """
relu_init = "he"
relu_ratio = (lambda n: n[-1] / n[0])(dynamics.layer_gradient_norms(20, 30, "relu", "he"))
""",
        ),
        (
            "the ratio as a Python float",
            """
relu_init = "he"
_norms = dynamics.layer_gradient_norms(20, 30, "relu", relu_init)
relu_ratio = float(_norms[-1]) / float(_norms[0])
""",
        ),
    ],
    "l05_clip_by_global_norm": [
        (
            "min(1, c / n) and a helper named clip_grad_norm",
            """
def clip_grad_norm(arrays, c):
    n = np.sqrt(sum(float(np.vdot(a, a)) for a in arrays))
    return [a * min(1.0, c / n) for a in arrays]

def clip_by_global_norm(grads, max_norm):
    return clip_grad_norm(grads, max_norm)
""",
        ),
        (
            "concatenated norm and explicit copies",
            """
def clip_by_global_norm(grads, max_norm):
    norm = np.linalg.norm(np.concatenate([g.ravel() for g in grads]))
    if norm <= max_norm:
        return [g.copy() for g in grads]
    return [g / norm * max_norm for g in grads]
""",
        ),
    ],
}
