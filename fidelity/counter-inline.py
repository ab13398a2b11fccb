"""Every thread increments a module global inline: n += 1."""
OPS = 4
n = 0


def setup():
    return None


def work(shared, tid, k):
    global n
    for _ in range(k):
        n += 1; n += 1; n += 1; n += 1
