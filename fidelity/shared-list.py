"""Every thread appends to and pops from one list the main thread made."""
OPS = 8


def setup():
    return []


def work(L, tid, n):
    o = object()
    for _ in range(n):
        L.append(o); L.pop()
        L.append(o); L.pop()
        L.append(o); L.pop()
        L.append(o); L.pop()
