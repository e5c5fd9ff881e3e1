"""A short engine demo: the autograd walkthrough, printed as PyTorch prints it."""
import gradview.engine as torch


def main():
    x = torch.ones(2, 2, requires_grad=True)
    y = x + 1
    z = y * y * 2
    out = z.mean()
    print("z =", z)
    print("out =", out)
    out.backward()
    print("x.grad =", x.grad)

    # the graph is built as Python runs: the loop length changes it
    W = torch.randn(4, 4, requires_grad=True)
    h = torch.randn(4, 1)
    b = torch.randn(4, 1)
    for steps in (2, 5):
        h_t = h
        for _ in range(steps):
            h_t = torch.matmul(W, h_t) + b
        print(f"T={steps}: output {tuple(h_t.shape)}, {count_nodes(h_t.grad_fn)} graph nodes")


def count_nodes(root):
    """Nodes reachable from `root` through next_functions (each counted once)."""
    seen, stack = {id(root)}, [root]
    while stack:
        for child, _ in stack.pop().next_functions:
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                stack.append(child)
    return len(seen)


if __name__ == "__main__":
    main()
