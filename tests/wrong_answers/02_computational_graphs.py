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
            "recursion limit",
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
            "write the search yourself",
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
            "engine's own backward pass",
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
