"""Each thread reads an object of its own: x = S."""
OPS = 8


def setup():
    return None


def work(shared, tid, n):
    S = object()
    x = None
    for _ in range(n):
        x = S; x = S; x = S; x = S
        x = S; x = S; x = S; x = S
