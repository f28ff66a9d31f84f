"""Plausible wrong answers to the exercises of lesson 01; each must fail its test."""

# --- exercise 1: central_difference --------------------------------------------------------------


def _difference(body: str) -> str:
    return f'''
def central_difference(f, x, h=1e-5):
    """Estimate the derivative f'(x) by the central difference."""
    return {body}
'''


# --- exercise 3: two paths -----------------------------------------------------------------------


def _paths(path_u: str, path_v: str, total: str = "path_u + path_v") -> str:
    return f"""
path_u = {path_u}
path_v = {path_v}
dL_dw_two_paths = {total}
"""


_PATH_U = "2 * (a - t) * (1 - a**2) * x"
_PATH_V = "2 * lam * w"

# --- exercise 5: the tanh neuron -----------------------------------------------------------------


def _neuron(
    dL_da: str = "2 * (a - t)",
    da_dz: str = "1 - a**2",
    dz_dw: str = "x",
    product: str = "dL_da_tanh * da_dz_tanh * dz_dw_tanh",
) -> str:
    return f"""
dL_da_tanh = {dL_da}
da_dz_tanh = {da_dz}
dz_dw_tanh = {dz_dw}
dL_dw_tanh = {product}
"""


WRONG_ANSWERS = {
    "l01_central_difference": [
        ("forward difference", _difference("(f(x + h) - f(x)) / h"), "forward difference"),
        ("divides by h instead of 2h", _difference("(f(x + h) - f(x - h)) / h"), "twice"),
        ("divides by 4h", _difference("(f(x + h) - f(x - h)) / (4 * h)"), "half"),
        (
            "difference taken the wrong way round",
            _difference("(f(x - h) - f(x + h)) / (2 * h)"),
            "sign",
        ),
        (
            "ignores the step it is given",
            _difference("(f(x + 1e-5) - f(x - 1e-5)) / 2e-5"),
            "ignored",
        ),
        ("backward difference", _difference("(f(x) - f(x - h)) / h"), "central_difference"),
    ],
    "l01_chain_derivative": [
        (
            "inner derivative forgotten",
            "df1 = 3 * sp.sin(x**2 + 1) ** 2 * sp.cos(x**2 + 1)",
            "innermost factor",
        ),
        (
            "derivative of sin forgotten",
            "df1 = 3 * sp.sin(x**2 + 1) ** 2 * 2 * x",
            "cos(p) is missing",
        ),
        (
            "sign error: derivative of sin taken as -cos",
            "df1 = -6 * x * sp.sin(x**2 + 1) ** 2 * sp.cos(x**2 + 1)",
            "sign",
        ),
        ("only the power rule", "df1 = 3 * sp.sin(x**2 + 1) ** 2", "only the outer power rule"),
        (
            "inner function taken as x**2",
            "df1 = 6 * x * sp.sin(x**2) ** 2 * sp.cos(x**2)",
            "not equal",
        ),
        (
            "a string instead of an expression",
            'df1 = "6*x*sin(x**2 + 1)**2*cos(x**2 + 1)"',
            "string",
        ),
    ],
    "l01_two_paths": [
        ("only the data path", _paths(_PATH_U, _PATH_V, "path_u"), "only the path through u"),
        ("only the penalty path", _paths(_PATH_U, _PATH_V, "path_v"), "only the path through v"),
        ("paths multiplied", _paths(_PATH_U, _PATH_V, "path_u * path_v"), "multiplied"),
        ("tanh derivative missing", _paths("2 * (a - t) * x", _PATH_V), "tanh factor"),
        ("dv/dw taken as w", _paths(_PATH_U, "lam * w"), "dv/dw is 2w"),
        ("du/dw taken as w", _paths("2 * (a - t) * (1 - a**2) * w", _PATH_V), "du/dw is x"),
    ],
    "l01_sigmoid_derivative": [
        (
            "tanh's derivative",
            "sigmoid_prime = 1 - a**2\nsigmoid_prime_max = sp.Rational(1, 4)",
            "derivative of tanh",
        ),
        (
            "sign error",
            "sigmoid_prime = a * (a - 1)\nsigmoid_prime_max = sp.Rational(1, 4)",
            "sign",
        ),
        (
            "square missing in the exp form",
            "sigmoid_prime = sp.exp(-z) / (1 + sp.exp(-z))\nsigmoid_prime_max = 0.25",
            "square",
        ),
        (
            "maximum of tanh's slope",
            "sigmoid_prime = a * (1 - a)\nsigmoid_prime_max = 1",
            "largest slope of tanh",
        ),
        (
            "the sigmoid's value instead of its slope",
            "sigmoid_prime = a * (1 - a)\nsigmoid_prime_max = 0.5",
            "value of the sigmoid",
        ),
        (
            "maximum left as a formula",
            "sigmoid_prime = a * (1 - a)\nsigmoid_prime_max = a * (1 - a)",
            "sigmoid_prime_max",
        ),
    ],
    "l01_neuron_factors": [
        ("sign error in dL/da", _neuron(dL_da="2 * (t - a)"), "sign"),
        ("factor of 2 missing in dL/da", _neuron(dL_da="a - t"), "factor 2"),
        ("sigmoid's derivative used", _neuron(da_dz="a * (1 - a)"), "sigmoid"),
        ("dz/dw taken as w", _neuron(dz_dw="w"), "not w"),
        (
            "da/dz missing from the product",
            _neuron(product="dL_da_tanh * dz_dw_tanh"),
            "da/dz is missing",
        ),
        ("square missing in tanh's derivative", _neuron(da_dz="1 - a"), "square"),
    ],
}


# --- answers that hand the work to the package, right answers in other forms --------------------
WRONG_ANSWERS["l01_central_difference"] += [
    (
        "delegates to gradcheck.numerical_gradient",
        """
from bpcourse.gradcheck import numerical_gradient as _ng

def central_difference(f, x, h=1e-5):
    x = np.asarray(x, dtype=float)
    if x.ndim == 0:
        return float(_ng(lambda v: f(v[0]), np.array([x]), h)[0])
    return np.array([_ng(lambda v: f(v[0]), np.array([p]), h)[0] for p in x])
""",
        "own implementation",
    ),
    (
        "delegates to gradcheck.complex_step_gradient (getattr by string)",
        """
def central_difference(f, x, h=1e-5):
    step = getattr(gc, "complex_step_gradient")
    x = np.asarray(x, dtype=float)
    if x.ndim == 0:
        return float(step(lambda v: f(v[0]), np.array([x]))[0])
    return np.array([step(lambda v: f(v[0]), np.array([p]))[0] for p in x])
""",
        "own implementation",
    ),
]

RIGHT_ANSWERS = {
    "l01_central_difference": [
        (
            "difference of two one-sided quotients, averaged",
            """
def central_difference(f, x, h=1e-5):
    forward = (f(x + h) - f(x)) / h
    backward = (f(x) - f(x - h)) / h
    return (forward + backward) / 2
""",
        ),
        (
            "a helper named numerical_gradient",
            """
def numerical_gradient(f, x, h):
    return np.divide(np.subtract(f(x + h), f(x - h)), 2.0 * h)

def central_difference(f, x, h=1e-5):
    return numerical_gradient(f, x, h)
""",
        ),
    ],
    "l01_chain_derivative": [
        (
            "rewritten with complex exponentials",
            "df1 = (6 * x * sp.sin(x**2 + 1) ** 2 * sp.cos(x**2 + 1)).rewrite(sp.exp)\n",
        ),
        (
            "expanded with a trigonometric identity and exact numbers",
            "df1 = sp.Integer(6) * x * (1 - sp.cos(x**2 + 1) ** 2) * sp.cos(x**2 + 1)\n",
        ),
        ("sp.diff of f1 (accepted: the text says the test cannot tell)", "df1 = sp.diff(f1, x)\n"),
    ],
    "l01_two_paths": [
        (
            "written in w with sech",
            """
path_u = 2 * (sp.tanh(w * x) - t) * sp.sech(w * x) ** 2 * x
path_v = 2 * lam * w
dL_dw_two_paths = path_u + path_v
""",
        ),
        (
            "rewritten with exponentials",
            """
path_u = (2 * (a - t) * (1 - a**2) * x).subs(a, sp.tanh(w * x)).rewrite(sp.exp)
path_v = sp.Rational(4, 2) * lam * w
dL_dw_two_paths = sp.expand(path_u + path_v)
""",
        ),
    ],
    "l01_sigmoid_derivative": [
        (
            "a form in z and a float maximum",
            """
sigmoid_prime = sp.exp(-z) / (1 + sp.exp(-z)) ** 2
sigmoid_prime_max = 0.25
""",
        ),
        (
            "expanded in a, maximum computed with SymPy",
            """
sigmoid_prime = a - a**2
sigmoid_prime_max = sigmoid_prime.subs(a, sp.Rational(1, 2))
""",
        ),
    ],
    "l01_neuron_factors": [
        (
            "factors in terms of w, x, b",
            """
dL_da_tanh = 2 * (sp.tanh(w * x + b) - t)
da_dz_tanh = sp.sech(w * x + b) ** 2
dz_dw_tanh = x
dL_dw_tanh = sp.expand(dL_da_tanh * da_dz_tanh * dz_dw_tanh)
""",
        ),
        (
            "exact numbers and exponentials",
            """
dL_da_tanh = sp.Integer(2) * a - 2 * t
da_dz_tanh = (1 - a**2).subs(a, sp.tanh(z)).rewrite(sp.exp)
dz_dw_tanh = sp.Integer(1) * x
dL_dw_tanh = dL_da_tanh * da_dz_tanh * dz_dw_tanh
""",
        ),
    ],
}

WRONG_ANSWERS["l01_chain_derivative"] += [
    (
        "cos taken at x instead of at the inner function",
        "df1 = 3 * sp.sin(x**2 + 1) ** 2 * sp.cos(x) * 2 * x",
        "not cos(x)",
    ),
]
