"""Every thread increments a module global through a call: inc()."""
OPS = 4
n = 0


def inc():
    global n
    n += 1


def setup():
    return None


def work(shared, tid, k):
    f = inc
    for _ in range(k):
        f(); f(); f(); f()
