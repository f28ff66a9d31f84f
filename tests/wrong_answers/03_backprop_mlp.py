"""Plausible wrong answers to the exercises of lesson 03; each must fail its test."""

# --- exercise 1: dense_backward ----------------------------------------------------------------


def _dense(dX: str, dW: str, db: str, ret: str = "dX, dW, db") -> str:
    return f'''
def dense_backward(dZ, X, W):
    """Backward pass of the dense layer Z = X @ W + b."""
    dX = {dX}
    dW = {dW}
    db = {db}
    return {ret}
'''


# --- exercise 2: activation derivatives --------------------------------------------------------

_SIGMOID_OK = """
def sigmoid_derivative(Z):
    s = 1.0 / (1.0 + np.exp(-Z))
    return s * (1.0 - s)
"""
_TANH_OK = """
def tanh_derivative(Z):
    return 1.0 - np.tanh(Z) ** 2
"""
_RELU_OK = """
def relu_derivative(Z):
    return (Z > 0).astype(float)
"""

# --- exercise 5: two_layer_backward ------------------------------------------------------------


def _two_layer(body: str) -> str:
    return (
        '''
def two_layer_backward(X, y, W1, b1, W2, b2):
    """Gradients of mse(tanh(X @ W1 + b1) @ W2 + b2, y)."""
'''
        + body
    )


# --- exercise 6: the gradient checker ----------------------------------------------------------

_CENTRAL_OK = """
def central_difference_gradient(f, x, h=1e-5):
    x = np.array(x, dtype=float)
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        f_plus = f(x)
        x[i] = old - h
        f_minus = f(x)
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad
"""
_RELATIVE_OK = """
def relative_error(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    den = np.abs(a) + np.abs(b)
    return float(np.max(np.where(den > 0, np.abs(a - b) / np.where(den > 0, den, 1.0), 0.0)))
"""


def _relative(expression: str) -> str:
    return f"""
def relative_error(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float({expression})
"""


WRONG_ANSWERS = {
    "l03_dense_backward": [
        (
            "dW transposed",
            _dense("dZ @ W.T", "dZ.T @ X", "dZ.sum(axis=0)"),
            "transposed",
        ),
        (
            "db not summed over the batch",
            _dense("dZ @ W.T", "X.T @ dZ", "dZ"),
            "expected shape (3,)",
        ),
        (
            "db averaged over the batch",
            _dense("dZ @ W.T", "X.T @ dZ", "dZ.mean(axis=0)"),
            "must be the sum",
        ),
        (
            "dX uses W instead of W.T",
            _dense("dZ @ W", "X.T @ dZ", "dZ.sum(axis=0)"),
            "W.T",
        ),
        (
            "db forgotten",
            _dense("dZ @ W.T", "X.T @ dZ", "None", ret="dX, dW"),
            "tuple of 3",
        ),
    ],
    "l03_activation_derivatives": [
        (
            "tanh' written as 1 - z**2",
            _SIGMOID_OK
            + """
def tanh_derivative(Z):
    return 1.0 - Z**2
"""
            + _RELU_OK,
            "instead of a = tanh(z)",
        ),
        (
            "sigmoid' written as z (1 - z)",
            """
def sigmoid_derivative(Z):
    return Z * (1.0 - Z)
"""
            + _TANH_OK
            + _RELU_OK,
            "instead of a = sigmoid(z)",
        ),
        (
            "returns relu itself",
            _SIGMOID_OK
            + _TANH_OK
            + """
def relu_derivative(Z):
    return np.maximum(Z, 0.0)
""",
            "relu itself",
        ),
        (
            "tanh derivative missing (returns 1)",
            _SIGMOID_OK
            + """
def tanh_derivative(Z):
    return np.ones_like(Z)
"""
            + _RELU_OK,
            "derivative is missing",
        ),
        (
            "relu derivative inverted",
            _SIGMOID_OK
            + _TANH_OK
            + """
def relu_derivative(Z):
    return (Z < 0).astype(float)
""",
        ),
    ],
    "l03_mse_grad": [
        (
            "missing factor 2",
            """
def mse_grad(y_hat, y):
    return (y_hat - y) / y_hat.size
""",
            "factor of 2 is missing",
        ),
        (
            "missing 1/n",
            """
def mse_grad(y_hat, y):
    return 2.0 * (y_hat - y)
""",
            "1/n",
        ),
        (
            "sign flipped",
            """
def mse_grad(y_hat, y):
    return 2.0 * (y - y_hat) / y_hat.size
""",
            "sign",
        ),
        (
            "divided by the number of rows only",
            """
def mse_grad(y_hat, y):
    return 2.0 * (y_hat - y) / len(y_hat)
""",
            "all N * n_out entries",
        ),
    ],
    "l03_softmax_ce_grad": [
        (
            "not divided by N (sum instead of mean)",
            """
def softmax_cross_entropy_grad(Z, y):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    P = E / E.sum(axis=1, keepdims=True)
    P[np.arange(len(y)), y] -= 1.0
    return P
""",
            "divide by the batch size",
        ),
        (
            "sign flipped",
            """
def softmax_cross_entropy_grad(Z, y):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    P = E / E.sum(axis=1, keepdims=True)
    P[np.arange(len(y)), y] -= 1.0
    return -P / len(y)
""",
            "sign",
        ),
        (
            "one-hot targets not subtracted",
            """
def softmax_cross_entropy_grad(Z, y):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True) / len(y)
""",
            "one-hot",
        ),
        (
            "softmax without subtracting the row maximum overflows",
            """
def softmax_cross_entropy_grad(Z, y):
    E = np.exp(Z)
    P = E / E.sum(axis=1, keepdims=True)
    P[np.arange(len(y)), y] -= 1.0
    return P / len(y)
""",
            "NaN",
        ),
    ],
    "l03_two_layer_backward": [
        (
            "activation derivative missing",
            _two_layer("""
    A1 = np.tanh(X @ W1 + b1)
    dZ2 = 2.0 * (A1 @ W2 + b2 - y) / y.size
    dA1, dW2, db2 = dZ2 @ W2.T, A1.T @ dZ2, dZ2.sum(axis=0)
    dW1, db1 = X.T @ dA1, dA1.sum(axis=0)
    return dW1, db1, dW2, db2
"""),
            "activation derivative is missing",
        ),
        (
            "biases left out of the forward pass",
            _two_layer("""
    A1 = np.tanh(X @ W1)
    dZ2 = 2.0 * (A1 @ W2 - y) / y.size
    dA1, dW2, db2 = dZ2 @ W2.T, A1.T @ dZ2, dZ2.sum(axis=0)
    dZ1 = dA1 * (1.0 - A1**2)
    return X.T @ dZ1, dZ1.sum(axis=0), dW2, db2
"""),
            "biases are missing",
        ),
        (
            "tanh derivative taken at Z1 as 1 - Z1**2",
            _two_layer("""
    Z1 = X @ W1 + b1
    A1 = np.tanh(Z1)
    dZ2 = 2.0 * (A1 @ W2 + b2 - y) / y.size
    dA1, dW2, db2 = dZ2 @ W2.T, A1.T @ dZ2, dZ2.sum(axis=0)
    dZ1 = dA1 * (1.0 - Z1**2)
    return X.T @ dZ1, dZ1.sum(axis=0), dW2, db2
"""),
            "not 1 - Z1**2",
        ),
        (
            "loss gradient without the factor 2",
            _two_layer("""
    A1 = np.tanh(X @ W1 + b1)
    dZ2 = (A1 @ W2 + b2 - y) / y.size
    dA1, dW2, db2 = dZ2 @ W2.T, A1.T @ dZ2, dZ2.sum(axis=0)
    dZ1 = dA1 * (1.0 - A1**2)
    return X.T @ dZ1, dZ1.sum(axis=0), dW2, db2
"""),
            "factor of 2",
        ),
    ],
    "l03_gradient_check": [
        (
            "forward difference",
            """
def central_difference_gradient(f, x, h=1e-5):
    x = np.array(x, dtype=float)
    grad = np.zeros(x.shape)
    f0 = f(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        grad[i] = (f(x) - f0) / h
        x[i] = old
    return grad
"""
            + _RELATIVE_OK,
            "forward difference",
        ),
        (
            "divided by h instead of 2h",
            """
def central_difference_gradient(f, x, h=1e-5):
    x = np.array(x, dtype=float)
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        f_plus = f(x)
        x[i] = old - h
        f_minus = f(x)
        x[i] = old
        grad[i] = (f_plus - f_minus) / h
    return grad
"""
            + _RELATIVE_OK,
            "factor of 2",
        ),
        (
            "absolute instead of relative error",
            _CENTRAL_OK + _relative("np.max(np.abs(a - b))"),
            "absolute error",
        ),
        (
            "mean instead of max",
            _CENTRAL_OK
            + _relative("np.mean(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-300))"),
            "mean",
        ),
        (
            "0/0 not handled",
            _CENTRAL_OK + _relative("np.max(np.abs(a - b) / (np.abs(a) + np.abs(b)))"),
            "NaN",
        ),
        (
            "x perturbed in place and not restored",
            """
def central_difference_gradient(f, x, h=1e-5):
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        x[i] += h
        f_plus = f(x)
        x[i] -= 2 * h
        f_minus = f(x)
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad
"""
            + _RELATIVE_OK,
        ),
    ],
}


# --- answers that hand the work to the package, in-place answers, right answers ----------------
from course_utils import delegating_answers  # noqa: E402

WRONG_ANSWERS["l03_dense_backward"] += delegating_answers(
    "dense_backward",
    "bpcourse.nn",
    "dense_backward",
    "bpcourse.dynamics.training.nn.dense_backward",
)
WRONG_ANSWERS["l03_activation_derivatives"] += [
    (
        "tanh_derivative delegates to nn.activation_derivative",
        """# + solution
import bpcourse.nn as _nn
def tanh_derivative(Z):
    return _nn.activation_derivative("tanh", Z)
""",
        "own implementation",
    ),
    (
        "sigmoid_derivative uses the rule stored in nn.ACTIVATIONS",
        """# + solution
import importlib
def sigmoid_derivative(Z):
    act = importlib.import_module("bpcourse.nn").ACTIVATIONS["sigmoid"]
    return act.df(Z, act.f(Z))
""",
        "own implementation",
    ),
    (
        "tanh_derivative uses the rule the MLP's training step uses (df_from_output)",
        """# + solution
import numpy as np
from bpcourse import nn as _nn
def tanh_derivative(Z):
    out = np.empty_like(Z)
    _nn.ACTIVATIONS["tanh"].df_from_output(np.tanh(Z), out)
    return out
""",
        "own implementation",
    ),
    (
        "relu_derivative overwrites Z in place",
        """# + solution
def relu_derivative(Z):
    Z[Z <= 0] = 0.0
    Z[Z > 0] = 1.0
    return Z
""",
        "changed its input",
    ),
]
WRONG_ANSWERS["l03_mse_grad"] += delegating_answers(
    "mse_grad", "bpcourse.nn", "mse_grad", "bpcourse.dynamics.training.nn.mse_grad"
)
WRONG_ANSWERS["l03_mse_grad"] += [
    (
        "subtracts in place from y_hat",
        "def mse_grad(y_hat, y):\n    y_hat -= y\n    return 2.0 * y_hat / y_hat.size\n",
        "changed its input",
    ),
]
WRONG_ANSWERS["l03_softmax_ce_grad"] += delegating_answers(
    "softmax_cross_entropy_grad",
    "bpcourse.nn",
    "softmax_cross_entropy_grad",
    "bpcourse.dynamics.training.nn.softmax_cross_entropy_grad",
)
WRONG_ANSWERS["l03_softmax_ce_grad"] += [
    (
        "shifts the logits in place",
        """
def softmax_cross_entropy_grad(Z, y):
    Z -= Z.max(axis=1, keepdims=True)
    P = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
    P[np.arange(len(y)), y] -= 1.0
    return P / len(y)
""",
        "changed its input",
    ),
]
_MLP_SETUP = """
import bpcourse.nn as _nn
def _model(W1, b1, W2, b2):
    m = _nn.MLP([W1.shape[0], W1.shape[1], W2.shape[1]], activation="tanh")
    m.weights, m.biases = [W1.copy(), W2.copy()], [b1.copy(), b2.copy()]
    return m
"""
WRONG_ANSWERS["l03_two_layer_backward"] += [
    (
        "delegates to nn.MLP.loss_and_gradients",
        _MLP_SETUP
        + """
def two_layer_backward(X, y, W1, b1, W2, b2):
    _, dws, dbs = _model(W1, b1, W2, b2).loss_and_gradients(X, y, loss="mse")
    return dws[0], dbs[0], dws[1], dbs[1]
""",
        "own implementation",
    ),
    (
        "delegates to nn.MLP.backprop through getattr",
        _MLP_SETUP
        + """
def two_layer_backward(X, y, W1, b1, W2, b2):
    trace = getattr(_model(W1, b1, W2, b2), "back" + "prop")(X, y)
    return trace.dweights[0], trace.dbiases[0], trace.dweights[1], trace.dbiases[1]
""",
        "own implementation",
    ),
]
WRONG_ANSWERS["l03_gradient_check"] += [
    (
        "central_difference_gradient delegates to gradcheck.numerical_gradient",
        "# + solution\nfrom bpcourse.gradcheck import numerical_gradient as _ng\n"
        "def central_difference_gradient(f, x, h=1e-5):\n    return _ng(f, x, h)\n",
        "own implementation",
    ),
    (
        "relative_error delegates to gradcheck.relative_error (importlib)",
        "# + solution\nimport importlib\ndef relative_error(a, b):\n"
        "    return importlib.import_module('bpcourse.gradcheck').relative_error(a, b)\n",
        "own implementation",
    ),
    (
        "perturbs the caller's x and does not put it back",
        """# + solution
def central_difference_gradient(f, x, h=1e-5):
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        x[i] += h
        f_plus = f(x)
        x[i] -= 2 * h
        f_minus = f(x)
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad
""",
        "central_difference_gradient",
    ),
]

RIGHT_ANSWERS = {
    "l03_dense_backward": [
        (
            "einsum",
            """
def dense_backward(dZ, X, W):
    return (np.einsum("no,io->ni", dZ, W), np.einsum("ni,no->io", X, dZ),
            np.einsum("no->o", dZ))
""",
        ),
        (
            "a loop over the batch",
            """
def dense_backward(dZ, X, W):
    dX = np.zeros((dZ.shape[0], W.shape[0]))
    dW = np.zeros(W.shape)
    db = np.zeros(W.shape[1])
    for n in range(dZ.shape[0]):
        dX[n] = W @ dZ[n]
        dW += np.outer(X[n], dZ[n])
        db += dZ[n]
    return dX, dW, db
""",
        ),
    ],
    "l03_activation_derivatives": [
        (
            "closed forms with exp and cosh",
            """
def sigmoid_derivative(Z):
    e = np.exp(-np.abs(Z))
    return e / (1.0 + e) ** 2

def tanh_derivative(Z):
    return 1.0 / np.cosh(Z) ** 2

def relu_derivative(Z):
    return np.where(Z > 0, 1.0, 0.0)
""",
        ),
        (
            "helpers named like the package's",
            """
def activate(Z):
    return 1.0 / (1.0 + np.exp(-Z))

def activation_derivative(A):
    return A * (1 - A)

def sigmoid_derivative(Z):
    return activation_derivative(activate(Z))

def tanh_derivative(Z):
    return 1 - np.tanh(Z) * np.tanh(Z)

def relu_derivative(Z):
    return np.heaviside(Z, 0.0)
""",
        ),
    ],
    "l03_mse_grad": [
        (
            "np.size and a copy",
            """
def mse_grad(y_hat, y):
    d = y_hat.copy()
    d -= y
    return d * (2 / np.size(y))
""",
        ),
        (
            "shape product",
            """
def mse_grad(y_hat, y):
    N, k = y_hat.shape
    return (2.0 / (N * k)) * (y_hat - y)
""",
        ),
    ],
    "l03_softmax_ce_grad": [
        (
            "one-hot matrix via np.eye",
            """
def softmax_cross_entropy_grad(Z, y):
    S = Z - Z.max(axis=1, keepdims=True)
    P = np.exp(S) / np.exp(S).sum(axis=1, keepdims=True)
    return (P - np.eye(Z.shape[1])[y]) / Z.shape[0]
""",
        ),
        (
            "log-sum-exp",
            """
def softmax_cross_entropy_grad(Z, y):
    m = Z.max(axis=1, keepdims=True)
    lse = m + np.log(np.sum(np.exp(Z - m), axis=1, keepdims=True))
    G = np.exp(Z - lse)
    for n, label in enumerate(y):
        G[n, label] -= 1
    return G / len(y)
""",
        ),
    ],
    "l03_two_layer_backward": [
        (
            "everything written out, no helpers",
            """
def two_layer_backward(X, y, W1, b1, W2, b2):
    A1 = np.tanh(X @ W1 + b1)
    dY = 2 * (A1 @ W2 + b2 - y) / y.size
    dZ1 = (dY @ W2.T) * (1 - A1 ** 2)
    return X.T @ dZ1, dZ1.sum(0), A1.T @ dY, dY.sum(0)
""",
        ),
        (
            "uses the earlier exercises' functions",
            """
def two_layer_backward(X, y, W1, b1, W2, b2):
    Z1 = X @ W1 + b1
    A1 = np.tanh(Z1)
    dZ2 = mse_grad(A1 @ W2 + b2, y)
    dA1, dW2, db2 = dense_backward(dZ2, A1, W2)
    _, dW1, db1 = dense_backward(dA1 * tanh_derivative(Z1), X, W1)
    return dW1, db1, dW2, db2
""",
        ),
    ],
    "l03_gradient_check": [
        (
            "unit vectors and a helper named numerical_gradient",
            """
def numerical_gradient(f, x, h):
    x = np.asarray(x, dtype=float)
    out = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        e = np.zeros(x.shape)
        e[i] = h
        out[i] = (f(x + e) - f(x - e)) / (2 * h)
    return out

def central_difference_gradient(f, x, h=1e-5):
    return numerical_gradient(f, x, h)

def relative_error(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    den = np.abs(a) + np.abs(b)
    safe = np.where(den == 0, 1.0, den)
    return float(np.max(np.abs(a - b) / safe))
""",
        ),
        (
            "flat loops and errstate",
            """
def central_difference_gradient(f, x, h=1e-5):
    base = np.array(x, dtype=float)
    flat = base.reshape(-1)
    grad = np.empty(flat.size)
    for k in range(flat.size):
        up, down = flat.copy(), flat.copy()
        up[k] += h
        down[k] -= h
        grad[k] = (f(up.reshape(base.shape)) - f(down.reshape(base.shape))) / (2 * h)
    return grad.reshape(base.shape)

def relative_error(a, b):
    a, b = np.ravel(a).astype(float), np.ravel(b).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.abs(a - b) / (np.abs(a) + np.abs(b))
    return float(np.nanmax(np.where(np.isnan(r), 0.0, r)))
""",
        ),
    ],
}

# named messages for the two NaN mistakes (the entries above only expect "NaN")
WRONG_ANSWERS["l03_softmax_ce_grad"] += [
    (
        "exp of the raw logits, named",
        """
def softmax_cross_entropy_grad(Z, y):
    E = np.exp(Z)
    P = E / E.sum(axis=1, keepdims=True)
    P[np.arange(len(y)), y] -= 1.0
    return P / len(y)
""",
        "Subtract each row's maximum",
    ),
]
WRONG_ANSWERS["l03_gradient_check"] += [
    (
        "0/0 in relative_error, named",
        _CENTRAL_OK + _relative("np.max(np.abs(a - b) / (np.abs(a) + np.abs(b)))"),
        "from 0/0",
    ),
]
