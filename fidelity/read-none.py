"""Every thread reads None, an immortal object: x = None."""
OPS = 8


def setup():
    return None


def work(shared, tid, n):
    x = None
    for _ in range(n):
        x = None; x = None; x = None; x = None
        x = None; x = None; x = None; x = None
