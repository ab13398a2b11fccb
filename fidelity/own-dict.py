"""Each thread stores into and reads one key of a dict of its own."""
OPS = 8


def setup():
    return None


def work(shared, tid, n):
    D = {k: None for k in range(8)}
    o = object()
    x = None
    for _ in range(n):
        D[7] = o; x = D[7]
        D[7] = o; x = D[7]
        D[7] = o; x = D[7]
        D[7] = o; x = D[7]
