"""Every thread reads one object the main thread made: x = S."""
OPS = 8


def setup():
    return object()


def work(S, tid, n):
    x = None
    for _ in range(n):
        x = S; x = S; x = S; x = S
        x = S; x = S; x = S; x = S
