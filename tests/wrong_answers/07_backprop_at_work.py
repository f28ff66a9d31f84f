"""Plausible wrong answers to the exercises of lesson 07; each must fail its test."""

WRONG_ANSWERS = {
    "l07_maxpool_backward": [
        (
            "average pooling's rule: dY spread evenly over the block",
            """
def maxpool_backward(dY, X):
    return dY.repeat(2, axis=2).repeat(2, axis=3) / 4
""",
            "average pooling",
        ),
        (
            "dY copied to every entry of the block",
            """
def maxpool_backward(dY, X):
    return dY.repeat(2, axis=2).repeat(2, axis=3)
""",
            "only the maximum",
        ),
        (
            "every tied maximum gets dY",
            """
def maxpool_backward(dY, X):
    Y = X.reshape(X.shape[0], X.shape[1], X.shape[2] // 2, 2, X.shape[3] // 2, 2).max(axis=(3, 5))
    up = lambda A: A.repeat(2, axis=2).repeat(2, axis=3)
    return up(dY) * (X == up(Y))
""",
            "tie",
        ),
        (
            "the last maximum wins a tie",
            """
def maxpool_backward(dY, X):
    N, C, H, W = X.shape
    dX = np.zeros(X.shape)
    for n in range(N):
        for c in range(C):
            for i in range(H // 2):
                for j in range(W // 2):
                    block = X[n, c, 2 * i:2 * i + 2, 2 * j:2 * j + 2].ravel()
                    k = 3 - int(np.argmax(block[::-1]))
                    dX[n, c, 2 * i + k // 2, 2 * j + k % 2] = dY[n, c, i, j]
    return dX
""",
            None,
        ),
        (
            "the package's own function",
            """
def maxpool_backward(dY, X):
    return nn.maxpool2d_backward(dY, X)
""",
            "own implementation",
        ),
        (
            "the package's function bound to another name",
            """
from bpcourse.nn import maxpool2d_backward as _mine
maxpool_backward = _mine
""",
            "own implementation",
        ),
    ],
    "l07_conv_backward": [
        (
            "dX with the kernel not flipped",
            """
def conv2d_backward_full(dY, X, K):
    _, _, H_out, W_out = dY.shape
    kh, kw = K.shape[2:]
    dX, dK = np.zeros(X.shape), np.zeros(K.shape)
    for i in range(kh):
        for j in range(kw):
            dK[:, :, i, j] = np.einsum("norc,nkrc->ok", dY, X[:, :, i:i + H_out, j:j + W_out])
            dX[:, :, i:i + H_out, j:j + W_out] += np.einsum(
                "norc,ok->nkrc", dY, K[:, :, kh - 1 - i, kw - 1 - j])
    return dX, dK, dY.sum(axis=(0, 2, 3))
""",
            "flipped",
        ),
        (
            "dK from the first example only",
            """
def conv2d_backward_full(dY, X, K):
    _, _, H_out, W_out = dY.shape
    kh, kw = K.shape[2:]
    dX, dK = np.zeros(X.shape), np.zeros(K.shape)
    for i in range(kh):
        for j in range(kw):
            dK[:, :, i, j] = np.einsum("orc,krc->ok", dY[0], X[0, :, i:i + H_out, j:j + W_out])
            dX[:, :, i:i + H_out, j:j + W_out] += np.einsum("norc,ok->nkrc", dY, K[:, :, i, j])
    return dX, dK, dY.sum(axis=(0, 2, 3))
""",
            "every example",
        ),
        (
            "dX assigned instead of accumulated over overlapping windows",
            """
def conv2d_backward_full(dY, X, K):
    _, _, H_out, W_out = dY.shape
    kh, kw = K.shape[2:]
    dX, dK = np.zeros(X.shape), np.zeros(K.shape)
    for i in range(kh):
        for j in range(kw):
            dK[:, :, i, j] = np.einsum("norc,nkrc->ok", dY, X[:, :, i:i + H_out, j:j + W_out])
            dX[:, :, i:i + H_out, j:j + W_out] = np.einsum("norc,ok->nkrc", dY, K[:, :, i, j])
    return dX, dK, dY.sum(axis=(0, 2, 3))
""",
            "values differ",
        ),
        (
            "db summed over the batch only",
            """# + solution
_right = conv2d_backward_full

def conv2d_backward_full(dY, X, K):
    dX, dK, _ = _right(dY, X, K)
    return dX, dK, dY.sum(axis=0)
""",
            "shape",
        ),
        (
            "the package's im2col layer",
            """
def conv2d_backward_full(dY, X, K):
    return dynamics.conv2d_im2col_backward(dY, X, K)
""",
            "own implementation",
        ),
    ],
    "l07_saliency": [
        (
            "ReLU mask missing",
            """
def saliency(model, x, label):
    Z = nn.conv2d_forward(x, model.K, model.b)
    A = np.maximum(Z, 0.0)
    P = nn.maxpool2d_forward(A)
    dlogits = nn.softmax(P.reshape(1, -1) @ model.W + model.c)
    dlogits[0, label] -= 1.0
    dA = nn.maxpool2d_backward((dlogits @ model.W.T).reshape(P.shape), A)
    return nn.conv2d_backward(dA, x, model.K)[0]
""",
            "values differ",
        ),
        (
            "onehot - softmax (sign flipped)",
            """
def saliency(model, x, label):
    Z = nn.conv2d_forward(x, model.K, model.b)
    A = np.maximum(Z, 0.0)
    P = nn.maxpool2d_forward(A)
    dlogits = -nn.softmax(P.reshape(1, -1) @ model.W + model.c)
    dlogits[0, label] += 1.0
    dP = (dlogits @ model.W.T).reshape(P.shape)
    dZ = nn.maxpool2d_backward(dP, A) * (Z > 0)
    return nn.conv2d_backward(dZ, x, model.K)[0]
""",
            "sign",
        ),
        (
            "the model's own saliency",
            """
def saliency(model, x, label):
    return model.saliency(x, [label])
""",
            "own implementation",
        ),
        (
            "the model's backprop with the input gradient",
            """
def saliency(model, x, label):
    return model.backprop(x, [label], input_gradient=True).dX
""",
            "own implementation",
        ),
        (
            "the gradient with respect to the pooled maps, upsampled",
            """
def saliency(model, x, label):
    Z = nn.conv2d_forward(x, model.K, model.b)
    P = nn.maxpool2d_forward(np.maximum(Z, 0.0))
    dlogits = nn.softmax(P.reshape(1, -1) @ model.W + model.c)
    dlogits[0, label] -= 1.0
    dP = (dlogits @ model.W.T).reshape(P.shape).sum(axis=1, keepdims=True)
    return np.pad(dP.repeat(2, axis=2).repeat(2, axis=3), [(0, 0), (0, 0), (1, 1), (1, 1)])
""",
            None,
        ),
    ],
    "l07_embedding_grad": [
        (
            "fancy-index += keeps one contribution per id",
            """
def embedding_grad(dY, ids, vocab_size):
    dE = np.zeros((vocab_size, dY.shape[-1]))
    dE[ids.reshape(-1)] += dY.reshape(-1, dY.shape[-1])
    return dE
""",
            "np.add.at",
        ),
        (
            "averaged over occurrences",
            """
def embedding_grad(dY, ids, vocab_size):
    d = dY.shape[-1]
    dE = np.zeros((vocab_size, d))
    np.add.at(dE, ids.reshape(-1), dY.reshape(-1, d))
    counts = np.maximum(np.bincount(ids.reshape(-1), minlength=vocab_size), 1)
    return dE / counts[:, None]
""",
            "averaged",
        ),
        (
            "the package's function",
            """
def embedding_grad(dY, ids, vocab_size):
    return nn.embedding_backward(dY, ids, vocab_size)
""",
            "own implementation",
        ),
        (
            "one row per position instead of per token",
            """
def embedding_grad(dY, ids, vocab_size):
    return dY.reshape(-1, dY.shape[-1])[:vocab_size]
""",
            None,
        ),
    ],
    "l07_cross_entropy_time": [
        (
            "summed over time",
            """
def cross_entropy_over_time(logits, Y):
    N, T, V = logits.shape
    shifted = logits - logits.max(axis=2, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=2, keepdims=True))
    loss = -np.take_along_axis(log_p, Y[..., None], axis=2).sum() / N
    grad = np.exp(log_p)
    n, t = np.meshgrid(np.arange(N), np.arange(T), indexing="ij")
    grad[n, t, Y] -= 1.0
    return float(loss), grad / N
""",
            "factor T",
        ),
        (
            "gradient not divided by N T",
            """
def cross_entropy_over_time(logits, Y):
    N, T, V = logits.shape
    shifted = logits - logits.max(axis=2, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=2, keepdims=True))
    loss = -np.take_along_axis(log_p, Y[..., None], axis=2).mean()
    grad = np.exp(log_p)
    n, t = np.meshgrid(np.arange(N), np.arange(T), indexing="ij")
    grad[n, t, Y] -= 1.0
    return float(loss), grad
""",
            "1/(N T)",
        ),
        (
            "one-hot not subtracted",
            """
def cross_entropy_over_time(logits, Y):
    N, T, V = logits.shape
    shifted = logits - logits.max(axis=2, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=2, keepdims=True))
    loss = -np.take_along_axis(log_p, Y[..., None], axis=2).mean()
    return float(loss), np.exp(log_p) / (N * T)
""",
            "one-hot",
        ),
        (
            "no max subtraction: overflows on large logits",
            """
def cross_entropy_over_time(logits, Y):
    N, T, V = logits.shape
    e = np.exp(logits)
    p = e / e.sum(axis=2, keepdims=True)
    loss = -np.log(np.take_along_axis(p, Y[..., None], axis=2)).mean()
    n, t = np.meshgrid(np.arange(N), np.arange(T), indexing="ij")
    p[n, t, Y] -= 1.0
    return float(loss), p / (N * T)
""",
            None,
        ),
        (
            "the package's functions",
            """
def cross_entropy_over_time(logits, Y):
    ce = dynamics.sequence_cross_entropy
    return ce(logits, Y), dynamics.sequence_cross_entropy_grad(logits, Y)
""",
            "own implementation",
        ),
    ],
}


# --- answers that hand the work to the package, right answers ----------------------------------
from course_utils import delegating_answers  # noqa: E402

WRONG_ANSWERS["l07_maxpool_backward"] += delegating_answers(
    "maxpool_backward",
    "bpcourse.nn",
    "maxpool2d_backward",
    "bpcourse.nn.pool.maxpool2d_backward",
    keep_solution=False,
)
WRONG_ANSWERS["l07_conv_backward"] += [
    (
        "delegates to nn.conv2d_backward (importlib)",
        """
import importlib

def conv2d_backward_full(dY, X, K):
    return importlib.import_module("bpcourse.nn").conv2d_backward(dY, X, K)
""",
        "own implementation",
    ),
]
WRONG_ANSWERS["l07_embedding_grad"] += [
    (
        "delegates through the character model's namespace",
        """
import bpcourse.dynamics.names

def embedding_grad(dY, ids, vocab_size):
    return getattr(bpcourse.dynamics.names, "embedding_backward")(dY, ids, vocab_size)
""",
        "own implementation",
    ),
]

RIGHT_ANSWERS = {
    "l07_maxpool_backward": [
        (
            "loops over the blocks",
            """
def maxpool_backward(dY, X):
    N, C, H, W = X.shape
    dX = np.zeros_like(X)
    for n in range(N):
        for c in range(C):
            for i in range(H // 2):
                for j in range(W // 2):
                    block = X[n, c, 2 * i:2 * i + 2, 2 * j:2 * j + 2]
                    a, b = np.unravel_index(np.argmax(block), (2, 2))
                    dX[n, c, 2 * i + a, 2 * j + b] = dY[n, c, i, j]
    return dX
""",
        ),
        (
            "mask of the first maximum, no put_along_axis",
            """
def maxpool_backward(dY, X):
    N, C, H, W = X.shape
    blocks = X.reshape(N, C, H // 2, 2, W // 2, 2).transpose(0, 1, 2, 4, 3, 5)
    flat = blocks.reshape(N, C, H // 2, W // 2, 4)
    first = flat.argmax(axis=-1)
    onehot = (np.arange(4) == first[..., None]).astype(float)
    routed = onehot * dY[..., None]
    return routed.reshape(N, C, H // 2, W // 2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(X.shape)
""",
        ),
    ],
    "l07_conv_backward": [
        (
            "explicit loops over channels and offsets",
            """
def conv2d_backward_full(dY, X, K):
    N, C_out, Ho, Wo = dY.shape
    _, C_in, kh, kw = K.shape
    dX, dK = np.zeros(X.shape), np.zeros(K.shape)
    for o in range(C_out):
        for c in range(C_in):
            for i in range(kh):
                for j in range(kw):
                    dK[o, c, i, j] = np.sum(dY[:, o] * X[:, c, i:i + Ho, j:j + Wo])
                    dX[:, c, i:i + Ho, j:j + Wo] += dY[:, o] * K[o, c, i, j]
    return dX, dK, dY.sum(axis=3).sum(axis=2).sum(axis=0)
""",
        ),
        (
            "padded dY correlated with the flipped kernel (lesson 06's recipe)",
            """
def conv2d_backward_full(dY, X, K):
    kh, kw = K.shape[2], K.shape[3]
    Ho, Wo = dY.shape[2], dY.shape[3]
    padded = np.pad(dY, [(0, 0), (0, 0), (kh - 1, kh - 1), (kw - 1, kw - 1)])
    flipped = K[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)
    dX = nn.conv2d_forward(padded, flipped, np.zeros(K.shape[1]))
    dK = np.zeros(K.shape)
    for i in range(kh):
        for j in range(kw):
            dK[:, :, i, j] = np.tensordot(dY, X[:, :, i:i + Ho, j:j + Wo],
                                          axes=([0, 2, 3], [0, 2, 3]))
    return dX, dK, dY.sum(axis=(0, 2, 3))
""",
        ),
    ],
    "l07_saliency": [
        (
            "own layer functions from the earlier exercises",
            """
def saliency(model, x, label):
    Z = nn.conv2d_forward(x, model.K, model.b)
    A = np.where(Z > 0, Z, 0.0)
    P = nn.maxpool2d_forward(A)
    z = P.reshape(1, -1) @ model.W + model.c
    p = np.exp(z - z.max())
    p /= p.sum()
    p[0, label] -= 1.0
    dA = maxpool_backward((p @ model.W.T).reshape(P.shape), A)
    return conv2d_backward_full(dA * (Z > 0), x, model.K)[0]
""",
        ),
        (
            "one-hot vector and the dense rule written out",
            """
def saliency(model, x, label):
    Z = nn.conv2d_forward(x, model.K, model.b)
    relu_on = Z > 0
    A = Z * relu_on
    P = nn.maxpool2d_forward(A)
    logits = P.reshape(1, -1) @ model.W + model.c
    onehot = np.eye(logits.shape[1])[[label]]
    dlogits = nn.softmax(logits) - onehot
    dF = dlogits @ model.W.T
    dZ = nn.maxpool2d_backward(dF.reshape(P.shape), A) * relu_on
    dX, _, _ = nn.conv2d_backward(dZ, x, model.K)
    return dX
""",
        ),
    ],
    "l07_embedding_grad": [
        (
            "a loop over positions",
            """
def embedding_grad(dY, ids, vocab_size):
    flat_ids = ids.ravel()
    flat_dY = dY.reshape(len(flat_ids), -1)
    dE = np.zeros((vocab_size, flat_dY.shape[1]))
    for i, g in zip(flat_ids, flat_dY):
        dE[i] += g
    return dE
""",
        ),
        (
            "one-hot matrix product (the lesson's derivation)",
            """
def embedding_grad(dY, ids, vocab_size):
    onehot = (ids.reshape(-1, 1) == np.arange(vocab_size)).astype(float)
    return onehot.T @ dY.reshape(onehot.shape[0], -1)
""",
        ),
    ],
    "l07_cross_entropy_time": [
        (
            "flattened to (N T, V) rows",
            """
def cross_entropy_over_time(logits, Y):
    N, T, V = logits.shape
    Z = logits.reshape(N * T, V)
    y = Y.ravel()
    Z = Z - Z.max(axis=1, keepdims=True)
    log_p = Z - np.log(np.sum(np.exp(Z), axis=1, keepdims=True))
    loss = -np.mean(log_p[np.arange(N * T), y])
    grad = np.exp(log_p)
    grad[np.arange(N * T), y] -= 1.0
    return float(loss), (grad / (N * T)).reshape(N, T, V)
""",
        ),
        (
            "one-hot targets",
            """
def cross_entropy_over_time(logits, Y):
    V = logits.shape[2]
    onehot = np.eye(V)[Y]
    m = logits.max(axis=2, keepdims=True)
    lse = m + np.log(np.exp(logits - m).sum(axis=2, keepdims=True))
    log_p = logits - lse
    loss = -(onehot * log_p).sum() / Y.size
    return float(loss), (np.exp(log_p) - onehot) / Y.size
""",
        ),
    ],
}
