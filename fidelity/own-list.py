"""Each thread appends to and pops from a list of its own."""
OPS = 8


def setup():
    return None


def work(shared, tid, n):
    L = []
    o = object()
    for _ in range(n):
        L.append(o); L.pop()
        L.append(o); L.pop()
        L.append(o); L.pop()
        L.append(o); L.pop()
