"""Every thread stores into and reads one key of a dict the main thread made."""
OPS = 8


def setup():
    return {k: None for k in range(8)}


def work(D, tid, n):
    o = object()
    x = None
    for _ in range(n):
        D[7] = o; x = D[7]
        D[7] = o; x = D[7]
        D[7] = o; x = D[7]
        D[7] = o; x = D[7]
