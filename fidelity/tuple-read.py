"""Every thread reads an item of one tuple the main thread made: x = t[0]."""
OPS = 8


def setup():
    return (object(), object())


def work(t, tid, n):
    x = None
    for _ in range(n):
        x = t[0]; x = t[0]; x = t[0]; x = t[0]
        x = t[0]; x = t[0]; x = t[0]; x = t[0]
