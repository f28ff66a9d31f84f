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
