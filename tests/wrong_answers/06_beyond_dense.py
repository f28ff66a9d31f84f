"""Plausible wrong answers to the exercises of lesson 06; each must fail its test."""

WRONG_ANSWERS = {
    "l06_conv_grad_kernel": [
        (
            "no sum over the batch (first example only)",
            """
def conv1d_grad_kernel(dY, X):
    N, C_out, L_out = dY.shape
    k = X.shape[2] - L_out + 1
    dK = np.zeros((C_out, X.shape[1], k))
    for j in range(k):
        dK[:, :, j] = dY[0] @ X[0, :, j:j + L_out].T
    db = dY.sum(axis=(0, 2))
    return dK, db
""",
            "batch",
        ),
        (
            "mean over the positions instead of the sum",
            """
def conv1d_grad_kernel(dY, X):
    N, C_out, L_out = dY.shape
    k = X.shape[2] - L_out + 1
    dK = np.zeros((C_out, X.shape[1], k))
    for j in range(k):
        dK[:, :, j] = np.einsum("not,nct->oc", dY, X[:, :, j:j + L_out]) / L_out
    db = dY.sum(axis=(0, 2))
    return dK, db
""",
            "positions",
        ),
        (
            "channel axes swapped",
            """
def conv1d_grad_kernel(dY, X):
    N, C_out, L_out = dY.shape
    k = X.shape[2] - L_out + 1
    dK = np.zeros((X.shape[1], C_out, k))
    for j in range(k):
        dK[:, :, j] = np.einsum("not,nct->co", dY, X[:, :, j:j + L_out])
    return dK, dY.sum(axis=(0, 2))
""",
            "channel",
        ),
        (
            "kernel gradient flipped (convolution instead of correlation)",
            """
def conv1d_grad_kernel(dY, X):
    N, C_out, L_out = dY.shape
    k = X.shape[2] - L_out + 1
    dK = np.zeros((C_out, X.shape[1], k))
    for j in range(k):
        dK[:, :, k - 1 - j] = np.einsum("not,nct->oc", dY, X[:, :, j:j + L_out])
    return dK, dY.sum(axis=(0, 2))
""",
            "flipped",
        ),
        (
            "bias gradient summed over the batch only",
            """
def conv1d_grad_kernel(dY, X):
    N, C_out, L_out = dY.shape
    k = X.shape[2] - L_out + 1
    dK = np.zeros((C_out, X.shape[1], k))
    for j in range(k):
        dK[:, :, j] = np.einsum("not,nct->oc", dY, X[:, :, j:j + L_out])
    return dK, dY.sum(axis=0)
""",
            "shape",
        ),
    ],
    "l06_conv_grad_input": [
        (
            "kernel not flipped",
            """
def conv1d_grad_input(dY, K):
    k = K.shape[2]
    padded = np.pad(dY, [(0, 0), (0, 0), (k - 1, k - 1)])
    return nn.conv1d_forward(padded, K.transpose(1, 0, 2), np.zeros(K.shape[1]))
""",
            "not flipped",
        ),
        (
            "channels not swapped",
            """
def conv1d_grad_input(dY, K):
    k = K.shape[2]
    padded = np.pad(dY, [(0, 0), (0, 0), (k - 1, k - 1)])
    return nn.conv1d_forward(padded, K[:, :, ::-1], np.zeros(K.shape[0]))
""",
            "channels are not swapped",
        ),
        (
            "no zero padding (a valid correlation only)",
            """
def conv1d_grad_input(dY, K):
    return nn.conv1d_forward(dY, K[:, :, ::-1].transpose(1, 0, 2), np.zeros(K.shape[1]))
""",
            None,
        ),
        (
            "padding on the left only",
            """
def conv1d_grad_input(dY, K):
    k = K.shape[2]
    padded = np.pad(dY, [(0, 0), (0, 0), (k - 1, 0)])
    return nn.conv1d_forward(padded, K[:, :, ::-1].transpose(1, 0, 2), np.zeros(K.shape[1]))
""",
            "shape",
        ),
        (
            "only the first output channel is used",
            """
def conv1d_grad_input(dY, K):
    N, C_out, L_out = dY.shape
    C_in, k = K.shape[1], K.shape[2]
    dX = np.zeros((N, C_in, L_out + k - 1))
    for n in range(N):
        for c in range(C_in):
            dX[n, c] = np.convolve(dY[n, 0], K[0, c], mode="full")
    return dX
""",
            "values differ",
        ),
    ],
    "l06_rnn_step_backward": [
        (
            "missing tanh derivative",
            """
def rnn_step_backward(dh, x, h_prev, h, W_xh, W_hh):
    dz = dh
    return dz @ W_xh.T, dz @ W_hh.T, x.T @ dz, h_prev.T @ dz, dz.sum(axis=0)
""",
            "tanh derivative is missing",
        ),
        (
            "W_hh not transposed",
            """
def rnn_step_backward(dh, x, h_prev, h, W_xh, W_hh):
    dz = dh * (1 - h**2)
    return dz @ W_xh.T, dz @ W_hh, x.T @ dz, h_prev.T @ dz, dz.sum(axis=0)
""",
            "transposed",
        ),
        (
            "tanh derivative taken at the previous state",
            """
def rnn_step_backward(dh, x, h_prev, h, W_xh, W_hh):
    dz = dh * (1 - h_prev**2)
    return dz @ W_xh.T, dz @ W_hh.T, x.T @ dz, h_prev.T @ dz, dz.sum(axis=0)
""",
            "previous state",
        ),
        (
            "dW_hh with the new state",
            """
def rnn_step_backward(dh, x, h_prev, h, W_xh, W_hh):
    dz = dh * (1 - h**2)
    return dz @ W_xh.T, dz @ W_hh.T, x.T @ dz, h.T @ dz, dz.sum(axis=0)
""",
            "dW_hh",
        ),
        (
            "bias gradient averaged over the batch",
            """
def rnn_step_backward(dh, x, h_prev, h, W_xh, W_hh):
    dz = dh * (1 - h**2)
    return dz @ W_xh.T, dz @ W_hh.T, x.T @ dz, h_prev.T @ dz, dz.mean(axis=0)
""",
            "too small",
        ),
    ],
    "l06_bptt": [
        (
            "only the last step",
            """
def bptt(dh_last, X, H, W_xh, W_hh, max_norm=None):
    T = X.shape[1]
    _, _, dW_xh, dW_hh, db = nn.rnn_step_backward(dh_last, X[:, T - 1], H[:, T - 1], H[:, T],
                                                  W_xh, W_hh)
    if max_norm is not None:
        (dW_xh, dW_hh, db), _ = optim.clip_grad_norm([dW_xh, dW_hh, db], max_norm)
    return dW_xh, dW_hh, db
""",
            "only the last time step",
        ),
        (
            "gradient not carried back through time",
            """
def bptt(dh_last, X, H, W_xh, W_hh, max_norm=None):
    T = X.shape[1]
    dW_xh, dW_hh, db = np.zeros_like(W_xh), np.zeros_like(W_hh), np.zeros(W_hh.shape[0])
    for t in range(T, 0, -1):
        _, _, dWx, dWh, db_t = nn.rnn_step_backward(dh_last, X[:, t - 1], H[:, t - 1], H[:, t],
                                                    W_xh, W_hh)
        dW_xh, dW_hh, db = dW_xh + dWx, dW_hh + dWh, db + db_t
    if max_norm is not None:
        (dW_xh, dW_hh, db), _ = optim.clip_grad_norm([dW_xh, dW_hh, db], max_norm)
    return dW_xh, dW_hh, db
""",
            "not carried back",
        ),
        (
            "each array clipped on its own",
            """
def bptt(dh_last, X, H, W_xh, W_hh, max_norm=None):
    T = X.shape[1]
    dW_xh, dW_hh, db = np.zeros_like(W_xh), np.zeros_like(W_hh), np.zeros(W_hh.shape[0])
    dh = dh_last
    for t in range(T, 0, -1):
        _, dh, dWx, dWh, db_t = nn.rnn_step_backward(dh, X[:, t - 1], H[:, t - 1], H[:, t],
                                                     W_xh, W_hh)
        dW_xh, dW_hh, db = dW_xh + dWx, dW_hh + dWh, db + db_t
    if max_norm is not None:
        dW_xh, dW_hh, db = [g * min(1.0, max_norm / np.linalg.norm(g)) for g in (dW_xh, dW_hh, db)]
    return dW_xh, dW_hh, db
""",
            "on its own",
        ),
        (
            "always rescaled to max_norm",
            """
def bptt(dh_last, X, H, W_xh, W_hh, max_norm=None):
    T = X.shape[1]
    dW_xh, dW_hh, db = np.zeros_like(W_xh), np.zeros_like(W_hh), np.zeros(W_hh.shape[0])
    dh = dh_last
    for t in range(T, 0, -1):
        _, dh, dWx, dWh, db_t = nn.rnn_step_backward(dh, X[:, t - 1], H[:, t - 1], H[:, t],
                                                     W_xh, W_hh)
        dW_xh, dW_hh, db = dW_xh + dWx, dW_hh + dWh, db + db_t
    if max_norm is not None:
        scale = max_norm / np.sqrt(np.sum(dW_xh**2) + np.sum(dW_hh**2) + np.sum(db**2))
        dW_xh, dW_hh, db = dW_xh * scale, dW_hh * scale, db * scale
    return dW_xh, dW_hh, db
""",
            "below max_norm",
        ),
        (
            "states shifted by one step",
            """
def bptt(dh_last, X, H, W_xh, W_hh, max_norm=None):
    T = X.shape[1]
    dW_xh, dW_hh, db = np.zeros_like(W_xh), np.zeros_like(W_hh), np.zeros(W_hh.shape[0])
    dh = dh_last
    for t in range(T, 0, -1):
        _, dh, dWx, dWh, db_t = nn.rnn_step_backward(dh, X[:, t - 1], H[:, t - 1], H[:, t - 1],
                                                     W_xh, W_hh)
        dW_xh, dW_hh, db = dW_xh + dWx, dW_hh + dWh, db + db_t
    if max_norm is not None:
        (dW_xh, dW_hh, db), _ = optim.clip_grad_norm([dW_xh, dW_hh, db], max_norm)
    return dW_xh, dW_hh, db
""",
            None,
        ),
        (
            "clipping ignored",
            """
def bptt(dh_last, X, H, W_xh, W_hh, max_norm=None):
    dH_out = np.zeros((X.shape[0], X.shape[1], W_hh.shape[0]))
    dH_out[:, -1] = dh_last
    back = nn.rnn_backward(dH_out, X, H, W_xh, W_hh)
    return back.dW_xh, back.dW_hh, back.db
""",
            None,
        ),
    ],
    "l06_gradient_ratio": [
        ("one step too many", "def gradient_ratio(rho, T):\n    return rho ** T\n", "T - 1"),
        (
            "inverted ratio",
            "def gradient_ratio(rho, T):\n    return (1 / rho) ** (T - 1)\n",
            "inverted",
        ),
        (
            "product instead of power",
            "def gradient_ratio(rho, T):\n    return rho * (T - 1)\n",
            "power",
        ),
    ],
    "l06_fd_forward_passes": [
        (
            "biases forgotten",
            """
def fd_forward_passes(layer_sizes):
    return 2 * sum(a * b for a, b in zip(layer_sizes[:-1], layer_sizes[1:]))
""",
            "biases",
        ),
        (
            "one pass per parameter",
            """
def fd_forward_passes(layer_sizes):
    return sum((a + 1) * b for a, b in zip(layer_sizes[:-1], layer_sizes[1:]))
""",
            "two passes",
        ),
        (
            "biases counted per input",
            """
def fd_forward_passes(layer_sizes):
    return 2 * sum(a * b + a for a, b in zip(layer_sizes[:-1], layer_sizes[1:]))
""",
            None,
        ),
    ],
    "l06_review_chain_rule": [
        ("numerical perturbation", 'review_node = "c"\nreview_reuse = "c"\n', "not the right"),
        ("average of the uses", 'review_node = "b"\nreview_reuse = "b"\n', "review_reuse"),
        ("last use only", 'review_node = "b"\nreview_reuse = "a"\n', "review_reuse"),
        ("not an option", 'review_node = "chain rule"\nreview_reuse = "c"\n', "choose one"),
    ],
    "l06_review_gradient_descent": [
        (
            "same algorithm",
            'review_roles = "a"\nw_next = np.array([0.95, 0.5])\n',
            "not the right",
        ),
        (
            "step uphill",
            'review_roles = "b"\nw_next = np.array([1.0, 0.3]) + 0.1 * np.array([0.5, -2.0])\n',
            "uphill",
        ),
        (
            "learning rate forgotten",
            'review_roles = "b"\nw_next = np.array([1.0, 0.3]) - np.array([0.5, -2.0])\n',
            "learning rate",
        ),
    ],
    "l06_review_learning_rate": [
        (
            "curvature forgotten",
            """
def error_after(k, lr, c, e0):
    return e0 * (1 - lr) ** k


regimes = {0.05: "slow", 0.5: "fastest", 0.8: "oscillating", 1.2: "diverging"}
""",
            "curvature",
        ),
        (
            "one step too many",
            """
def error_after(k, lr, c, e0):
    return e0 * (1 - lr * c) ** (k + 1)


regimes = {0.05: "slow", 0.5: "fastest", 0.8: "oscillating", 1.2: "diverging"}
""",
            "one step too many",
        ),
        (
            "oscillation taken for divergence",
            """
def error_after(k, lr, c, e0):
    return e0 * (1 - lr * c) ** k


regimes = {0.05: "slow", 0.5: "fastest", 0.8: "diverging", 1.2: "diverging"}
""",
            "regimes[0.8]",
        ),
        (
            "the fastest rate called slow",
            """
def error_after(k, lr, c, e0):
    return e0 * (1 - lr * c) ** k


regimes = {0.05: "slow", 0.5: "slow", 0.8: "oscillating", 1.2: "diverging"}
""",
            "regimes[0.5]",
        ),
        (
            "factor one half",
            """
def error_after(k, lr, c, e0):
    return e0 * (1 - lr * c / 2) ** k


regimes = {0.05: "slow", 0.5: "fastest", 0.8: "oscillating", 1.2: "diverging"}
""",
            "1/2",
        ),
    ],
}


# --- answers that hand the work to the package, right answers ----------------------------------
from course_utils import delegating_answers  # noqa: E402

WRONG_ANSWERS["l06_conv_grad_kernel"] += [
    (
        "delegates to nn.conv1d_backward",
        """
from bpcourse.nn import conv1d_backward as _cb

def conv1d_grad_kernel(dY, X):
    k = X.shape[2] - dY.shape[2] + 1
    return _cb(dY, X, np.zeros((dY.shape[1], X.shape[1], k)))[1:]
""",
        "own implementation",
    ),
    (
        "delegates to nn.conv1d_backward through dynamics' namespace",
        """
import bpcourse.dynamics

def conv1d_grad_kernel(dY, X):
    k = X.shape[2] - dY.shape[2] + 1
    back = getattr(bpcourse.dynamics.training.nn, "conv1d_backward")
    return back(dY, X, np.zeros((dY.shape[1], X.shape[1], k)))[1:]
""",
        "own implementation",
    ),
]
WRONG_ANSWERS["l06_conv_grad_input"] += [
    (
        "delegates to nn.conv1d_backward (importlib)",
        """
import importlib

def conv1d_grad_input(dY, K):
    L = dY.shape[2] + K.shape[2] - 1
    nn_ = importlib.import_module("bpcourse.nn")
    return nn_.conv1d_backward(dY, np.zeros((dY.shape[0], K.shape[1], L)), K)[0]
""",
        "own implementation",
    ),
]
WRONG_ANSWERS["l06_rnn_step_backward"] += delegating_answers(
    "rnn_step_backward",
    "bpcourse.nn",
    "rnn_step_backward",
    "bpcourse.dynamics.training.nn.rnn_step_backward",
    keep_solution=False,
)
WRONG_ANSWERS["l06_rnn_step_backward"] += [
    (
        "delegates to the package's internal step function",
        """
from bpcourse.nn.rnn import _rnn_step_backward

def rnn_step_backward(dh, x, h_prev, h, W_xh, W_hh):
    return _rnn_step_backward(dh, x, h_prev, h, W_xh, W_hh)
""",
        "own implementation",
    ),
]
WRONG_ANSWERS["l06_bptt"] += [
    (
        "delegates to the package's internal whole-sequence backward pass",
        """
from bpcourse.nn.rnn import _rnn_backward

def bptt(dh_last, X, H, W_xh, W_hh, max_norm=None):
    dH = np.zeros((X.shape[0], X.shape[1], W_hh.shape[0]))
    dH[:, -1] = dh_last
    back = _rnn_backward(dH, X, H, W_xh, W_hh, None)
    grads = [back.dW_xh, back.dW_hh, back.db]
    if max_norm is not None:
        grads = optim.clip_grad_norm(grads, max_norm)[0]
    return tuple(grads)
""",
        "own implementation",
    ),
    (
        "delegates to nn.rnn_backward",
        """
import bpcourse.nn as _nn

def bptt(dh_last, X, H, W_xh, W_hh, max_norm=None):
    dH = np.zeros((X.shape[0], X.shape[1], W_hh.shape[0]))
    dH[:, -1] = dh_last
    back = _nn.rnn_backward(dH, X, H, W_xh, W_hh)
    grads = [back.dW_xh, back.dW_hh, back.db]
    if max_norm is not None:
        grads = optim.clip_grad_norm(grads, max_norm)[0]
    return tuple(grads)
""",
        "own implementation",
    ),
]
WRONG_ANSWERS["l06_review_learning_rate"] += [
    (
        "error_after runs dynamics.quadratic_descent",
        """# + solution
def error_after(k, lr, c, e0):
    return float(getattr(dynamics, "quadratic_descent")(c, lr, steps=max(k, 1), x0=e0)[k])
""",
        "own implementation",
    ),
]

RIGHT_ANSWERS = {
    "l06_conv_grad_kernel": [
        (
            "tensordot per offset",
            """
def conv1d_grad_kernel(dY, X):
    L_out = dY.shape[2]
    k = X.shape[2] - L_out + 1
    dK = np.stack([np.tensordot(dY, X[:, :, j:j + L_out], axes=([0, 2], [0, 2]))
                   for j in range(k)], axis=2)
    return dK, np.sum(dY, axis=(0, 2))
""",
        ),
        (
            "explicit loops",
            """
def conv1d_grad_kernel(dY, X):
    N, C_out, L_out = dY.shape
    C_in, L = X.shape[1], X.shape[2]
    k = L - L_out + 1
    dK = np.zeros((C_out, C_in, k))
    for o in range(C_out):
        for c in range(C_in):
            for j in range(k):
                dK[o, c, j] = np.sum(dY[:, o, :] * X[:, c, j:j + L_out])
    return dK, dY.sum(axis=2).sum(axis=0)
""",
        ),
    ],
    "l06_conv_grad_input": [
        (
            "scatter loop over offsets",
            """
def conv1d_grad_input(dY, K):
    N, C_out, L_out = dY.shape
    k = K.shape[2]
    dX = np.zeros((N, K.shape[1], L_out + k - 1))
    for j in range(k):
        dX[:, :, j:j + L_out] += np.einsum("not,oc->nct", dY, K[:, :, j])
    return dX
""",
        ),
        (
            "the recipe with a helper named conv1d_backward",
            """
def conv1d_backward(dY, K):
    k = K.shape[2]
    padded = np.pad(dY, ((0, 0), (0, 0), (k - 1, k - 1)))
    return nn.conv1d_forward(padded, np.flip(K, axis=2).swapaxes(0, 1), np.zeros(K.shape[1]))

def conv1d_grad_input(dY, K):
    return conv1d_backward(dY, K)
""",
        ),
    ],
    "l06_rnn_step_backward": [
        (
            "einsum",
            """
def rnn_step_backward(dh, x, h_prev, h, W_xh, W_hh):
    dz = dh * (1 - h * h)
    return (np.einsum("nh,ih->ni", dz, W_xh), np.einsum("nh,gh->ng", dz, W_hh),
            np.einsum("ni,nh->ih", x, dz), np.einsum("ng,nh->gh", h_prev, dz),
            np.einsum("nh->h", dz))
""",
        ),
        (
            "the dense rule as an own helper named dense_backward",
            """
def dense_backward(dZ, X, W):
    return dZ @ W.T, X.T @ dZ, dZ.sum(axis=0)

def rnn_step_backward(dh, x, h_prev, h, W_xh, W_hh):
    dz = dh * (1 - h**2)
    dx, dW_xh, db = dense_backward(dz, x, W_xh)
    dh_prev, dW_hh, _ = dense_backward(dz, h_prev, W_hh)
    return dx, dh_prev, dW_xh, dW_hh, db
""",
        ),
    ],
    "l06_bptt": [
        (
            "optim.clip_grad_norm for the clipping",
            """
def bptt(dh_last, X, H, W_xh, W_hh, max_norm=None):
    sums = [np.zeros_like(W_xh), np.zeros_like(W_hh), np.zeros(W_hh.shape[0])]
    dh = dh_last
    for t in reversed(range(1, X.shape[1] + 1)):
        _, dh, *step = nn.rnn_step_backward(dh, X[:, t - 1], H[:, t - 1], H[:, t], W_xh, W_hh)
        sums = [s + g for s, g in zip(sums, step)]
    if max_norm is not None:
        sums = optim.clip_grad_norm(sums, max_norm)[0]
    return tuple(sums)
""",
        ),
        (
            "min(1, c / n) scaling",
            """
def bptt(dh_last, X, H, W_xh, W_hh, max_norm=None):
    T = X.shape[1]
    acc = None
    dh = dh_last
    for t in range(T, 0, -1):
        out = nn.rnn_step_backward(dh, X[:, t - 1], H[:, t - 1], H[:, t], W_xh, W_hh)
        dh = out[1]
        acc = list(out[2:]) if acc is None else [a + g for a, g in zip(acc, out[2:])]
    if max_norm is not None:
        n = np.sqrt(sum(np.sum(a * a) for a in acc))
        acc = [a * min(1.0, max_norm / n) for a in acc]
    return acc[0], acc[1], acc[2]
""",
        ),
    ],
    "l06_gradient_ratio": [
        (
            "exp and log",
            """
import math
def gradient_ratio(rho, T):
    return math.exp((T - 1) * math.log(rho))
""",
        ),
        (
            "a loop",
            """
def gradient_ratio(rho, T):
    r = 1.0
    for _ in range(T - 1):
        r *= rho
    return r
""",
        ),
    ],
    "l06_fd_forward_passes": [
        (
            "weights and biases counted separately",
            """
def fd_forward_passes(layer_sizes):
    weights = sum(a * b for a, b in zip(layer_sizes, layer_sizes[1:]))
    biases = sum(layer_sizes[1:])
    return 2 * (weights + biases)
""",
        ),
        (
            "numpy dot",
            """
def fd_forward_passes(layer_sizes):
    s = np.array(layer_sizes)
    return int(2 * (np.dot(s[:-1] + 1, s[1:])))
""",
        ),
    ],
    "l06_review_chain_rule": [
        ("letters with spaces around", 'review_node = " b "\nreview_reuse = "c"\n'),
        ("upper-case strings lowered", 'review_node = "B".lower()\nreview_reuse = "C".lower()\n'),
    ],
    "l06_review_gradient_descent": [
        ("a list", 'review_roles = "b"\nw_next = [0.95, 0.5]\n'),
        (
            "exact SymPy numbers",
            """
import sympy as sp
review_roles = "b"
w_next = np.array([sp.Rational(19, 20), sp.Rational(1, 2)])
""",
        ),
    ],
    "l06_review_learning_rate": [
        (
            "a loop",
            """
def error_after(k, lr, c, e0):
    e = e0
    for _ in range(k):
        e = e - lr * c * e
    return e

regimes = {0.05: "slow", 0.5: "fastest", 0.8: "oscillating", 1.2: "diverging"}
""",
        ),
        (
            "labels computed from the factor",
            """
def error_after(k, lr, c, e0):
    return float(e0 * pow(1 - lr * c, k))

def _label(lr, c=2.0):
    f = 1 - lr * c
    return ("fastest" if abs(f) < 1e-12 else "slow" if 0 < f < 1
            else "oscillating" if -1 < f < 0 else "diverging")

regimes = {lr: _label(lr) for lr in (0.05, 0.5, 0.8, 1.2)}
""",
        ),
    ],
}

# named message for the time index of X (H has T + 1 states, X only T inputs)
WRONG_ANSWERS["l06_bptt"] += [
    (
        "X[:, t] where X[:, t - 1] is meant",
        """
def bptt(dh_last, X, H, W_xh, W_hh, max_norm=None):
    grads = [np.zeros_like(W_xh), np.zeros_like(W_hh), np.zeros(W_hh.shape[0])]
    dh = dh_last
    for t in range(X.shape[1], 0, -1):
        _, dh, *step = nn.rnn_step_backward(dh, X[:, t], H[:, t - 1], H[:, t], W_xh, W_hh)
        grads = [g + s for g, s in zip(grads, step)]
    if max_norm is not None:
        grads = optim.clip_grad_norm(grads, max_norm)[0]
    return tuple(grads)
""",
        "Check the indices",
    ),
    (
        "X[t] picks an example, not a time step",
        """
def bptt(dh_last, X, H, W_xh, W_hh, max_norm=None):
    grads = [np.zeros_like(W_xh), np.zeros_like(W_hh), np.zeros(W_hh.shape[0])]
    dh = dh_last
    for t in range(X.shape[1], 0, -1):
        _, dh, *step = nn.rnn_step_backward(dh, X[t - 1], H[:, t - 1], H[:, t], W_xh, W_hh)
        grads = [g + s for g, s in zip(grads, step)]
    if max_norm is not None:
        grads = optim.clip_grad_norm(grads, max_norm)[0]
    return tuple(grads)
""",
        "Check the indices",
    ),
]
WRONG_ANSWERS["l06_review_gradient_descent"] += [
    (
        "w_next a plain number",
        'review_roles = "b"\nw_next = 0.95\n',
        "expected a numpy array of two numbers",
    ),
]
