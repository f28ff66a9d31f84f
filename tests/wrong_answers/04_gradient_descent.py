"""Plausible wrong answers to the exercises of lesson 04; each must fail its test."""


def _sgd(body: str) -> str:
    return f'''
def sgd_step(param, grad, lr):
    """Return param - lr * grad."""
    return {body}
'''


def _epoch(batches: str, update: str, record: str = "losses.append(value)") -> str:
    return f'''
def train_epoch(model, X, y, lr, batch_size, loss="softmax_cross_entropy"):
    """One epoch of mini-batch gradient descent over the rows of X, in order."""
    losses = []
    for start in {batches}:
        X_batch, y_batch = X[start:start + batch_size], y[start:start + batch_size]
        value, dweights, dbiases = model.loss_and_gradients(X_batch, y_batch, loss=loss)
        for W, b, dW, db in zip(model.weights, model.biases, dweights, dbiases):
{update}
        {record}
    return losses
'''


_UPDATE_OK = """            W -= lr * dW
            b -= lr * db"""


def _stable(body: str) -> str:
    return f'''
def largest_stable_lr(H):
    """2 / (largest eigenvalue of the symmetric matrix H)."""
    return {body}
'''


def _momentum(velocity: str, param: str) -> str:
    return f'''
def momentum_step(param, grad, velocity, lr, momentum=0.9):
    """One heavy-ball step."""
    new_velocity = {velocity}
    return {param}, new_velocity
'''


def _regularized(weights: str, biases: str) -> str:
    return f'''
def regularized_gradients(dweights, dbiases, weights, biases, lam):
    """Gradients of the loss plus (lam / 2) * sum of squared weights."""
    dweights_reg = {weights}
    dbiases_reg = {biases}
    return dweights_reg, dbiases_reg
'''


_W_OK = "[dW + lam * W for dW, W in zip(dweights, weights)]"
_B_OK = "[db.copy() for db in dbiases]"


def _early(improves: str, stops: str, result: str = "best, epoch") -> str:
    return f'''
def early_stopping_epoch(val_loss, patience):
    """(best_epoch, stop_epoch) of early stopping."""
    best, since_best = 0, 0
    for epoch in range(1, len(val_loss)):
        if {improves}:
            best, since_best = epoch, 0
        else:
            since_best += 1
            if {stops}:
                return {result}
    return best, len(val_loss) - 1
'''


WRONG_ANSWERS = {
    "l04_sgd_step": [
        ("step uphill", _sgd("param + lr * grad"), "up the gradient"),
        ("learning rate missing", _sgd("param - grad"), "learning rate is missing"),
        ("divided by the learning rate", _sgd("param - grad / lr"), "divided by the learning"),
        ("learning rate squared", _sgd("param - lr * lr * grad"), "differ"),
        ("returns the step, not the new parameter", _sgd("-lr * grad"), "sgd_step"),
    ],
    "l04_train_epoch": [
        (
            "last partial batch dropped",
            _epoch("range(0, X.shape[0] - batch_size + 1, batch_size)", _UPDATE_OK),
            "last, smaller batch",
        ),
        (
            "one full-batch step",
            _epoch("[0]", _UPDATE_OK).replace(
                "X[start:start + batch_size], y[start:start + batch_size]", "X, y"
            ),
            "one step on all rows",
        ),
        (
            "biases not updated",
            _epoch("range(0, X.shape[0], batch_size)", "            W -= lr * dW"),
            "biases were not updated",
        ),
        (
            "update goes uphill",
            _epoch(
                "range(0, X.shape[0], batch_size)",
                "            W += lr * dW\n            b += lr * db",
            ),
            "sign",
        ),
        (
            "returns the mean loss instead of the list",
            _epoch("range(0, X.shape[0], batch_size)", _UPDATE_OK).replace(
                "return losses", "return float(np.mean(losses))"
            ),
            "shape",
        ),
        (
            "all gradients computed at the starting weights",
            '''
def train_epoch(model, X, y, lr, batch_size, loss="softmax_cross_entropy"):
    """Gradients of every batch first, updates afterwards (wrong)."""
    results = [model.loss_and_gradients(X[s:s + batch_size], y[s:s + batch_size], loss=loss)
               for s in range(0, X.shape[0], batch_size)]
    for value, dweights, dbiases in results:
        for W, b, dW, db in zip(model.weights, model.biases, dweights, dbiases):
            W -= lr * dW
            b -= lr * db
    return [r[0] for r in results]
''',
            "train_epoch",
        ),
    ],
    "l04_largest_stable_lr": [
        ("smallest eigenvalue", _stable("2.0 / np.linalg.eigvalsh(H)[0]"), "smallest eigenvalue"),
        ("diagonal as curvatures", _stable("2.0 / np.max(np.diag(H))"), "diagonal entries"),
        ("one-step rate", _stable("1.0 / np.linalg.eigvalsh(H)[-1]"), "converges in one step"),
        ("inverted", _stable("np.linalg.eigvalsh(H)[-1] / 2.0"), "largest_stable_lr"),
        ("trace", _stable("2.0 / np.trace(H)"), "largest_stable_lr"),
    ],
    "l04_momentum_step": [
        (
            "velocity sign",
            _momentum("momentum * velocity - grad", "param - lr * new_velocity"),
            "wrong sign",
        ),
        (
            "learning rate applied twice",
            _momentum("momentum * velocity + lr * grad", "param - lr * new_velocity"),
            "applied twice",
        ),
        ("velocity not carried", _momentum("grad", "param - lr * new_velocity"), "not carried"),
        (
            "other convention",
            _momentum("momentum * velocity - lr * grad", "param + new_velocity"),
            "other convention",
        ),
        (
            "returns the old velocity",
            _momentum("momentum * velocity + grad", "param - lr * new_velocity").replace(
                "return param - lr * new_velocity, new_velocity",
                "return param - lr * new_velocity, velocity",
            ),
            "momentum_step result 1",
        ),
    ],
    "l04_regularized_gradients": [
        (
            "factor 2",
            _regularized("[dW + 2 * lam * W for dW, W in zip(dweights, weights)]", _B_OK),
            "2 * lam * W",
        ),
        (
            "lambda missing",
            _regularized("[dW + W for dW, W in zip(dweights, weights)]", _B_OK),
            "lam is missing",
        ),
        (
            "biases decayed",
            _regularized(_W_OK, "[db + lam * b for db, b in zip(dbiases, biases)]"),
            "must not be decayed",
        ),
        (
            "data gradient replaced",
            _regularized("[lam * W for W in weights]", _B_OK),
            "data-loss gradient",
        ),
        (
            "modifies the input arrays",
            '''
def regularized_gradients(dweights, dbiases, weights, biases, lam):
    """Adds the decay in place (wrong: the caller's arrays change)."""
    for dW, W in zip(dweights, weights):
        dW += lam * W
    return dweights, dbiases
''',
            "changed its input",
        ),
    ],
    "l04_early_stopping": [
        (
            "global minimum",
            '''
def early_stopping_epoch(val_loss, patience):
    """Best epoch from the whole curve (wrong)."""
    best = int(np.argmin(val_loss))
    stop = min(best + patience, len(val_loss) - 1)
    return best, stop
''',
            "seen before stopping",
        ),
        (
            "stops one epoch late",
            _early("val_loss[epoch] < val_loss[best]", "since_best > patience"),
            "one epoch too late",
        ),
        (
            "ties count as improvement",
            _early("val_loss[epoch] <= val_loss[best]", "since_best >= patience"),
            "equal loss",
        ),
        (
            "epochs counted from 1",
            _early(
                "val_loss[epoch] < val_loss[best]", "since_best >= patience", "best + 1, epoch + 1"
            ).replace("return best, len(val_loss) - 1", "return best + 1, len(val_loss)"),
            "counted from 1",
        ),
        (
            "returns the stop epoch as the best",
            _early("val_loss[epoch] < val_loss[best]", "since_best >= patience", "epoch, epoch"),
            "not the stop epoch",
        ),
    ],
}


# --- answers that hand the work to the package, and rules the exercise text states -------------
from course_utils import delegating_answers  # noqa: E402

WRONG_ANSWERS["l04_sgd_step"] += delegating_answers(
    "sgd_step",
    "bpcourse.optim",
    "sgd_step",
    "bpcourse.dynamics.training.make_optimizer.__globals__['sgd_step']",
)
WRONG_ANSWERS["l04_sgd_step"] += [
    (
        "steps in place (the caller's parameter changes)",
        _sgd("param").replace("return param", "param -= lr * grad\n    return param"),
        "changed its input",
    ),
    (
        "the package's SGD optimizer on a copy",
        """
import bpcourse.optim
def sgd_step(param, grad, lr):
    new = param.copy()
    bpcourse.optim.SGD([new], lr).step([grad])
    return new
""",
        "own implementation",
    ),
]
WRONG_ANSWERS["l04_train_epoch"] += delegating_answers(
    "train_epoch", "bpcourse.dynamics", "sgd_epoch", "sys.modules['bpcourse.dynamics'].sgd_epoch"
)
WRONG_ANSWERS["l04_largest_stable_lr"] += delegating_answers(
    "largest_stable_lr", "bpcourse.dynamics", "largest_stable_lr"
)
WRONG_ANSWERS["l04_momentum_step"] += delegating_answers(
    "momentum_step", "bpcourse.optim", "momentum_step"
)
WRONG_ANSWERS["l04_momentum_step"] += [
    (
        "updates the velocity and parameter in place",
        """
def momentum_step(param, grad, velocity, lr, momentum=0.9):
    velocity *= momentum
    velocity += grad
    param -= lr * velocity
    return param, velocity
""",
        "changed its input",
    ),
]
WRONG_ANSWERS["l04_regularized_gradients"] += [
    (
        "returns the bias gradients it was given (not new arrays)",
        _regularized(_W_OK, "list(dbiases)"),
        "returned (a view of) its input",
    ),
]
WRONG_ANSWERS["l04_early_stopping"] += delegating_answers(
    "early_stopping_epoch", "bpcourse.dynamics", "early_stopping_epoch"
)

RIGHT_ANSWERS = {
    "l04_sgd_step": [
        (
            "a loop over the entries",
            """
def sgd_step(param, grad, lr):
    out = np.empty_like(param, dtype=float)
    for i in np.ndindex(param.shape):
        out[i] = param[i] - lr * grad[i]
    return out
""",
        ),
        (
            "np.subtract with an own helper named like the package's",
            """
def _scaled(g, lr):
    return np.multiply(lr, g)

def step(p, g, lr):
    return np.subtract(p, _scaled(g, lr))

def sgd_step(param, grad, lr):
    return step(param, grad, lr)
""",
        ),
    ],
    "l04_train_epoch": [
        (
            "a while loop and index arrays",
            """
def train_epoch(model, X, y, lr, batch_size, loss="softmax_cross_entropy"):
    losses, start, n = [], 0, len(X)
    while start < n:
        rows = np.arange(start, min(start + batch_size, n))
        value, dws, dbs = model.loss_and_gradients(X[rows], y[rows], loss=loss)
        for layer in range(len(model.weights)):
            model.weights[layer] -= lr * dws[layer]
            model.biases[layer] -= lr * dbs[layer]
        losses.append(float(value))
        start += batch_size
    return losses
""",
        ),
        (
            "np.array_split batches and an own helper named sgd_epoch",
            """
def sgd_epoch(model, Xb, yb, lr, loss):
    value, dws, dbs = model.loss_and_gradients(Xb, yb, loss=loss)
    for W, dW in zip(model.weights, dws):
        W[...] = W - lr * dW
    for b, db in zip(model.biases, dbs):
        b[...] = b - lr * db
    return value

def train_epoch(model, X, y, lr, batch_size, loss="softmax_cross_entropy"):
    n_batches = -(-len(X) // batch_size)
    edges = [min(k * batch_size, len(X)) for k in range(1, n_batches)]
    return [sgd_epoch(model, Xb, yb, lr, loss)
            for Xb, yb in zip(np.split(X, edges), np.split(y, edges))]
""",
        ),
    ],
    "l04_largest_stable_lr": [
        (
            "np.linalg.eigh and max",
            """
def largest_stable_lr(H):
    return 2.0 / max(np.linalg.eigh(H)[0])
""",
        ),
        (
            "power iteration on the shifted matrix",
            """
def largest_stable_lr(H):
    lam = np.linalg.eigvals(H).real
    return float(2 / lam.max())
""",
        ),
    ],
    "l04_momentum_step": [
        (
            "copies first, then in-place updates of the copies",
            """
def momentum_step(param, grad, velocity, lr, momentum=0.9):
    v = velocity.copy()
    v *= momentum
    v += grad
    p = param.copy()
    p -= lr * v
    return p, v
""",
        ),
        (
            "the update expanded",
            """
def momentum_step(param, grad, velocity, lr, momentum=0.9):
    return (param - lr * momentum * velocity - lr * grad, momentum * velocity + grad)
""",
        ),
    ],
    "l04_regularized_gradients": [
        (
            "an index loop with np.add",
            """
def regularized_gradients(dweights, dbiases, weights, biases, lam):
    out_w = []
    for i in range(len(weights)):
        out_w.append(np.add(dweights[i], np.multiply(lam, weights[i])))
    return out_w, [np.array(db, copy=True) for db in dbiases]
""",
        ),
        (
            "map and a helper named like the gradient",
            """
def gradients(dW, W, lam):
    return dW + lam * W

def regularized_gradients(dweights, dbiases, weights, biases, lam):
    return (list(map(lambda pair: gradients(*pair, lam), zip(dweights, weights))),
            [db + 0.0 for db in dbiases])
""",
        ),
    ],
    "l04_early_stopping": [
        (
            "a running best value",
            """
def early_stopping_epoch(val_loss, patience):
    best_epoch, best_value, waited = 0, val_loss[0], 0
    for epoch, value in enumerate(val_loss):
        if epoch == 0:
            continue
        if value < best_value:
            best_epoch, best_value, waited = epoch, value, 0
        else:
            waited += 1
        if waited == patience:
            return best_epoch, epoch
    return best_epoch, len(val_loss) - 1
""",
        ),
        (
            "numpy minimum over prefixes",
            """
def early_stopping_epoch(val_loss, patience):
    v = np.asarray(val_loss, dtype=float)
    for stop in range(1, len(v)):
        best = int(np.argmin(v[:stop + 1]))
        if stop - best >= patience:
            return best, stop
    return int(np.argmin(v)), len(v) - 1
""",
        ),
    ],
}


def _adam(moments: str, correction: str, update: str, result: str = "new_m, new_s") -> str:
    return f'''
def adam_step(param, grad, m, s, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """One Adam step."""
    {moments}
    {correction}
    return {update}, {result}
'''


_ADAM_MOMENTS = "new_m = beta1 * m + (1 - beta1) * grad; new_s = beta2 * s + (1 - beta2) * grad**2"
_ADAM_CORRECTION = "m_hat = new_m / (1 - beta1**t); s_hat = new_s / (1 - beta2**t)"
_ADAM_UPDATE = "param - lr * m_hat / (np.sqrt(s_hat) + eps)"

WRONG_ANSWERS["l04_adam_step"] = [
    (
        "no bias correction",
        _adam(_ADAM_MOMENTS, "m_hat, s_hat = new_m, new_s", _ADAM_UPDATE),
        "no bias correction",
    ),
    (
        "beta instead of beta**t",
        _adam(
            _ADAM_MOMENTS, "m_hat = new_m / (1 - beta1); s_hat = new_s / (1 - beta2)", _ADAM_UPDATE
        ),
        "beta instead of beta**t",
    ),
    (
        "t counted from 0",
        _adam(
            _ADAM_MOMENTS,
            "m_hat = new_m / (1 - beta1**(t - 1)); s_hat = new_s / (1 - beta2**(t - 1))",
            _ADAM_UPDATE,
        ),
        "counts from 1",
    ),
    (
        "step number one too high",
        _adam(
            _ADAM_MOMENTS,
            "m_hat = new_m / (1 - beta1**(t + 1)); s_hat = new_s / (1 - beta2**(t + 1))",
            _ADAM_UPDATE,
        ),
        "off by one",
    ),
    (
        "eps inside the square root",
        _adam(_ADAM_MOMENTS, _ADAM_CORRECTION, "param - lr * m_hat / np.sqrt(s_hat + eps)"),
        "outside the square root",
    ),
    (
        "returns the corrected averages",
        _adam(_ADAM_MOMENTS, _ADAM_CORRECTION, _ADAM_UPDATE, "m_hat, s_hat"),
        "uncorrected new_m and new_s",
    ),
    (
        "steps uphill",
        _adam(_ADAM_MOMENTS, _ADAM_CORRECTION, "param + lr * m_hat / (np.sqrt(s_hat) + eps)"),
        "uphill",
    ),
]

WRONG_ANSWERS["l04_train_epoch"] += [
    (
        "rebinds the loop variables (W = W - lr * dW): the model never changes",
        _epoch(
            "range(0, X.shape[0], batch_size)",
            "            W = W - lr * dW\n            b = b - lr * db",
        ),
        "only rebinds the loop variable",
    ),
]

RIGHT_ANSWERS["l04_adam_step"] = [
    (
        "corrections as separate numbers, np.power and np.sqrt",
        """
def adam_step(param, grad, m, s, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    new_m = beta1 * m + (1.0 - beta1) * grad
    new_s = beta2 * s + (1.0 - beta2) * np.power(grad, 2)
    c1 = 1.0 - np.power(beta1, t)
    c2 = 1.0 - np.power(beta2, t)
    step = (new_m / c1) / (np.sqrt(new_s / c2) + eps)
    return param - lr * step, new_m, new_s
""",
    ),
    (
        "copies updated in place, entry by entry",
        """
def adam_step(param, grad, m, s, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    new_param, new_m, new_s = param.astype(float), m.astype(float), s.astype(float)
    for i in np.ndindex(param.shape):
        new_m[i] = beta1 * m[i] + (1 - beta1) * grad[i]
        new_s[i] = beta2 * s[i] + (1 - beta2) * grad[i] * grad[i]
        m_hat = new_m[i] / (1 - beta1**t)
        s_hat = new_s[i] / (1 - beta2**t)
        new_param[i] = param[i] - lr * m_hat / (s_hat**0.5 + eps)
    return new_param, new_m, new_s
""",
    ),
]
