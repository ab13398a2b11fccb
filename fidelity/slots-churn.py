"""Every thread instantiates one __slots__ class the main thread made: p = S()."""
OPS = 4


def setup():
    class S:
        __slots__ = ("a", "b")
    return S


def work(S, tid, n):
    p = None
    for _ in range(n):
        p = S(); p = S(); p = S(); p = S()
