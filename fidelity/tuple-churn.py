"""Each thread builds a pair of its own objects: t = (a, b)."""
OPS = 4


def setup():
    return None


def work(shared, tid, n):
    a = object()
    b = object()
    t = None
    for _ in range(n):
        t = (a, b); t = (a, b); t = (a, b); t = (a, b)
