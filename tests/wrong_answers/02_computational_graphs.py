"""Plausible wrong answers to the exercises of lesson 02; each must fail its test."""

_TANH_OK = """

def tanh_backward(x, grad_out):
    t = math.tanh(x)
    return (1.0 - t * t) * grad_out
"""

_MUL_OK = """
def mul_backward(a, b, grad_out):
    return b * grad_out, a * grad_out
"""

_DIV_OK = """

def div_backward(a, b, grad_out):
    return grad_out / b, -grad_out * a / b**2
"""

WRONG_ANSWERS = {
    "l02_local_rules": [
        (
            "swapped factors in the product rule",
            """
def mul_backward(a, b, grad_out):
    return a * grad_out, b * grad_out
"""
            + _DIV_OK
            + _TANH_OK,
            "swapped",
        ),
        (
            "upstream gradient forgotten in mul_backward",
            """
def mul_backward(a, b, grad_out):
    return b, a
"""
            + _DIV_OK
            + _TANH_OK,
            "grad_out is missing",
        ),
        (
            "sign error in the quotient rule",
            _MUL_OK
            + """

def div_backward(a, b, grad_out):
    return grad_out / b, grad_out * a / b**2
"""
            + _TANH_OK,
            "sign",
        ),
        (
            "tanh derivative written with the input instead of the output",
            _MUL_OK
            + _DIV_OK
            + """

def tanh_backward(x, grad_out):
    return (1.0 - x**2) * grad_out
""",
            "uses the input",
        ),
        (
            "tanh derivative without the upstream gradient",
            _MUL_OK
            + _DIV_OK
            + """

def tanh_backward(x, grad_out):
    return 1.0 - math.tanh(x) ** 2
""",
            "grad_out is missing",
        ),
    ],
    "l02_topological_sort": [
        (
            "recursive depth-first search (hits the recursion limit on long chains)",
            """
def topological_sort(root):
    order, visited = [], set()

    def visit(node):
        if node not in visited:
            visited.add(node)
            for operand in node._prev:
                visit(operand)
            order.append(node)

    visit(root)
    return order
""",
            "calls itself",
        ),
        (
            "no visited set: shared nodes are listed more than once",
            """
def topological_sort(root):
    order = []
    stack = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
        else:
            stack.append((node, True))
            for operand in node._prev:
                stack.append((operand, False))
    return order
""",
            "more than once",
        ),
        (
            "pre-order: root first instead of last",
            """
def topological_sort(root):
    order, visited = [], set()
    stack = [root]
    while stack:
        node = stack.pop()
        if node in visited:
            continue
        visited.add(node)
        order.append(node)
        stack.extend(node._prev)
    return order
""",
            "before one of",
        ),
        (
            "reversed breadth-first search (wrong for a node on a short and a long path)",
            """
def topological_sort(root):
    from collections import deque

    seen, queue, bfs = {root}, deque([root]), []
    while queue:
        node = queue.popleft()
        bfs.append(node)
        for operand in node._prev:
            if operand not in seen:
                seen.add(operand)
                queue.append(operand)
    return bfs[::-1]
""",
            "before one of",
        ),
        (
            "leaves left out (only nodes made by an operation)",
            """
def topological_sort(root):
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            if node._prev:
                order.append(node)
            continue
        if node in visited:
            continue
        visited.add(node)
        stack.append((node, True))
        stack.extend((operand, False) for operand in node._prev)
    return order
""",
            "leaves and root included",
        ),
        (
            "returns an iterator instead of a list",
            """
def topological_sort(root):
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
        elif node not in visited:
            visited.add(node)
            stack.append((node, True))
            stack.extend((operand, False) for operand in node._prev)
    return iter(order)
""",
            "should return a list",
        ),
        (
            "calls the package's topological_order instead of writing the search",
            """
def topological_sort(root):
    return topological_order(root)
""",
            "own implementation",
        ),
    ],
    "l02_backward": [
        (
            "= instead of += (the last user overwrites the others)",
            """
def backward(root):
    order = topological_order(root)
    for node in order:
        node.grad = 0.0
    root.grad = 1.0
    for node in reversed(order):
        for operand, local in zip(node._prev, node._local):
            operand.grad = local * node.grad
""",
            "+=",
        ),
        (
            "gradients not reset: a second call adds to the first",
            """
def backward(root):
    order = topological_order(root)
    root.grad = 1.0
    for node in reversed(order):
        for operand, local in zip(node._prev, node._local):
            operand.grad += local * node.grad
""",
            "set every node's grad to 0",
        ),
        (
            "topological order instead of its reverse",
            """
def backward(root):
    order = topological_order(root)
    for node in order:
        node.grad = 0.0
    root.grad = 1.0
    for node in order:
        for operand, local in zip(node._prev, node._local):
            operand.grad += local * node.grad
""",
            "reverse topological order",
        ),
        (
            "root gradient never set to 1",
            """
def backward(root):
    order = topological_order(root)
    for node in order:
        node.grad = 0.0
    for node in reversed(order):
        for operand, local in zip(node._prev, node._local):
            operand.grad += local * node.grad
""",
            "set to 1",
        ),
        (
            "root gradient set before the reset wipes it",
            """
def backward(root):
    order = topological_order(root)
    root.grad = 1.0
    for node in order:
        node.grad = 0.0
    for node in reversed(order):
        for operand, local in zip(node._prev, node._local):
            operand.grad += local * node.grad
""",
            "set to 1",
        ),
        (
            "local derivative not multiplied by the upstream gradient",
            """
def backward(root):
    order = topological_order(root)
    for node in order:
        node.grad = 0.0
    root.grad = 1.0
    for node in reversed(order):
        for operand, local in zip(node._prev, node._local):
            operand.grad += local
""",
            "a.grad",
        ),
        (
            "calls the engine's own backward pass",
            """
def backward(root):
    root.backward()
""",
            "own implementation",
        ),
    ],
    "l02_grad_by_hand": [
        (
            "fan-out path through u = x - y forgotten",
            """
def grad_by_hand(x, y):
    u = x - y
    t = math.tanh(x * y)
    grad_v = (1.0 - t * t) * u
    return grad_v * y, grad_v * x
""",
            "x - y",
        ),
        (
            "fan-out path through v = x * y forgotten",
            """
def grad_by_hand(x, y):
    t = math.tanh(x * y)
    return t, -t
""",
            "x * y",
        ),
        (
            "sign error: d(x - y)/dy taken as +1",
            """
def grad_by_hand(x, y):
    u = x - y
    t = math.tanh(x * y)
    grad_v = (1.0 - t * t) * u
    return t + grad_v * y, t + grad_v * x
""",
            "sign",
        ),
        (
            "tanh derivative written with the input",
            """
def grad_by_hand(x, y):
    u, v = x - y, x * y
    t = math.tanh(v)
    grad_v = (1.0 - v * v) * u
    return t + grad_v * y, -t + grad_v * x
""",
            "1 - v**2",
        ),
        (
            "local derivatives of x * y swapped",
            """
def grad_by_hand(x, y):
    u = x - y
    t = math.tanh(x * y)
    grad_v = (1.0 - t * t) * u
    return t + grad_v * x, -t + grad_v * y
""",
            "swapped",
        ),
    ],
    "l02_softplus": [
        (
            "local derivative exp(x)",
            """
def softplus(x):
    return Value(math.log1p(math.exp(x.data)), "", (x,), "softplus", (math.exp(x.data),))
""",
            "exp(x)",
        ),
        (
            "inner derivative of log(1 + e^x) forgotten",
            """
def softplus(x):
    local = 1.0 / (1.0 + math.exp(x.data))
    return Value(math.log1p(math.exp(x.data)), "", (x,), "softplus", (local,))
""",
            "inner derivative",
        ),
        (
            "built from existing operations: three nodes, not one",
            """
def softplus(x):
    return (x.exp() + 1.0).log()
""",
            "one node",
        ),
        (
            "operand not recorded: the result is a leaf",
            """
def softplus(x):
    return Value(math.log1p(math.exp(x.data)))
""",
            "_prev should be (x,)",
        ),
        (
            "local derivative taken as softplus itself",
            """
def softplus(x):
    data = math.log1p(math.exp(x.data))
    return Value(data, "", (x,), "softplus", (data,))
""",
            "softplus(x) itself",
        ),
    ],
}


# --- answers that hand the work to the package, forbidden constructs, right answers ------------
from course_utils import delegating_answers  # noqa: E402

WRONG_ANSWERS["l02_topological_sort"] += delegating_answers(
    "topological_sort", "bpcourse.engine", "topological_order", keep_solution=False
)
WRONG_ANSWERS["l02_topological_sort"] += [
    (
        "recursive search that raises the recursion limit first",
        """
import sys

def topological_sort(root):
    sys.setrecursionlimit(100000)
    order, seen = [], set()
    def visit(node):
        if node in seen:
            return
        seen.add(node)
        for operand in node._prev:
            visit(operand)
        order.append(node)
    visit(root)
    return order
""",
        "calls itself",
    ),
    (
        "the package's graph() listing",
        """
from bpcourse import engine as _e

def topological_sort(root):
    return list(_e.graph(root)[0])
""",
        "own implementation",
    ),
]
WRONG_ANSWERS["l02_backward"] += [
    (
        "delegates through the class (getattr by string)",
        """
def backward(root):
    getattr(type(root), "back" + "ward")(root)
""",
        "own implementation",
    ),
    (
        "the recursive backward pass imported under another name",
        """
from bpcourse.engine import backward_naive_recursive as _push

def backward(root):
    _push(root)
""",
        "own implementation",
    ),
    (
        "each node's _backward in reverse order",
        """
import importlib

def backward(root):
    order = topological_order(root)
    for node in order:
        node.grad = 0.0
    root.grad = 1.0
    for node in reversed(order):
        node._backward()
""",
        "own implementation",
    ),
]
WRONG_ANSWERS["l02_local_rules"] += [
    (
        "mul_backward builds Value nodes and runs the engine's backward pass",
        """# + solution
def mul_backward(a, b, grad_out):
    x, y = Value(a), Value(b)
    out = x * y
    out.backward()
    return x.grad * grad_out, y.grad * grad_out
""",
        "own implementation",
    ),
]
WRONG_ANSWERS["l02_grad_by_hand"] += [
    (
        "sympy.diff inside the function",
        """
import sympy

def grad_by_hand(x, y):
    X, Y = sympy.symbols("X Y")
    f = (X - Y) * sympy.tanh(X * Y)
    at = {X: x, Y: y}
    return float(sympy.diff(f, X).subs(at)), float(sympy.diff(f, Y).subs(at))
""",
        "own implementation",
    ),
    (
        "the engine's backward pass",
        """
def grad_by_hand(x, y):
    vx, vy = Value(x), Value(y)
    f = (vx - vy) * (vx * vy).tanh()
    f.backward()
    return vx.grad, vy.grad
""",
        "own implementation",
    ),
]

RIGHT_ANSWERS = {
    "l02_local_rules": [
        (
            "math written differently",
            """
def mul_backward(a, b, grad_out):
    return grad_out * b, grad_out * a

def div_backward(a, b, grad_out):
    inv = 1.0 / b
    return grad_out * inv, -grad_out * a * inv * inv

def tanh_backward(x, grad_out):
    return grad_out / math.cosh(x) ** 2
""",
        ),
        (
            "helpers named like the engine's methods",
            """
def backward(local, grad_out):
    return local * grad_out

def mul_backward(a, b, grad_out):
    return backward(b, grad_out), backward(a, grad_out)

def div_backward(a, b, grad_out):
    return backward(1 / b, grad_out), backward(-a / b**2, grad_out)

def tanh_backward(x, grad_out):
    return backward(1 - math.tanh(x) ** 2, grad_out)
""",
        ),
    ],
    "l02_topological_sort": [
        (
            "Kahn's algorithm with a helper named topological_order",
            """
def topological_order(root):
    nodes, stack = {id(root): root}, [root]
    while stack:
        for p in stack.pop()._prev:
            if id(p) not in nodes:
                nodes[id(p)] = p
                stack.append(p)
    waiting = {i: len({id(p) for p in n._prev}) for i, n in nodes.items()}
    users = {i: [] for i in nodes}
    for i, n in nodes.items():
        for pid in {id(p) for p in n._prev}:
            users[pid].append(n)
    ready = [n for i, n in nodes.items() if waiting[i] == 0]
    order = []
    while ready:
        n = ready.pop()
        order.append(n)
        for u in users[id(n)]:
            waiting[id(u)] -= 1
            if waiting[id(u)] == 0:
                ready.append(u)
    return order

def topological_sort(root):
    return topological_order(root)
""",
        ),
        (
            "an explicit stack of iterators",
            """
def topological_sort(root):
    order, done = [], set()
    stack = [(root, iter(root._prev))]
    done.add(root)
    while stack:
        node, operands = stack[-1]
        for p in operands:
            if p not in done:
                done.add(p)
                stack.append((p, iter(p._prev)))
                break
        else:
            stack.pop()
            order.append(node)
    return order
""",
        ),
    ],
    "l02_backward": [
        (
            "a dict of gradients, written back at the end",
            """
def backward(root):
    order = topological_order(root)
    grads = {id(n): 0.0 for n in order}
    grads[id(root)] = 1.0
    for node in order[::-1]:
        for operand, local in zip(node._prev, node._local):
            grads[id(operand)] += local * grads[id(node)]
    for node in order:
        node.grad = grads[id(node)]
""",
        ),
        (
            "a helper named _backward of its own",
            """
def _backward(node):
    for operand, local in zip(node._prev, node._local):
        operand.grad = operand.grad + local * node.grad

def backward(root):
    order = topological_order(root)
    for node in order:
        node.grad = 0
    root.grad = 1
    for node in reversed(order):
        _backward(node)
""",
        ),
    ],
    "l02_grad_by_hand": [
        (
            "closed form with the product rule",
            """
def grad_by_hand(x, y):
    t = math.tanh(x * y)
    s = 1 - t * t
    return t + (x - y) * s * y, -t + (x - y) * s * x
""",
        ),
        (
            "sech written with cosh",
            """
def grad_by_hand(x, y):
    sech2 = 1.0 / math.cosh(x * y) ** 2
    u = x - y
    return (math.tanh(x * y) + u * y * sech2, u * x * sech2 - math.tanh(x * y))
""",
        ),
    ],
    "l02_softplus": [
        (
            "the sigmoid via exp(x) / (1 + exp(x))",
            """
def softplus(x):
    e = math.exp(x.data)
    return Value(math.log(1.0 + e), "", (x,), "softplus", (e / (1.0 + e),))
""",
        ),
        (
            "keyword arguments and tanh form of the sigmoid",
            """
def softplus(x):
    slope = 0.5 * (1.0 + math.tanh(0.5 * x.data))
    return Value(math.log1p(math.exp(x.data)), "", (x,), "softplus", (slope,))
""",
        ),
    ],
}
