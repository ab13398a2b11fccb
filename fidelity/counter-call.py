"""Every thread increments a module global with a call between the read and
the write: n = n + one() (under a GIL this loses updates: one's entry polls
the eval breaker)."""
OPS = 4
n = 0


def one():
    return 1


def setup():
    return None


def work(shared, tid, k):
    global n
    for _ in range(k):
        n = n + one(); n = n + one(); n = n + one(); n = n + one()
