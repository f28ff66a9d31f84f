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
