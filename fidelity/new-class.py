"""Every thread instantiates one class the main thread made: p = Point()."""
OPS = 4


def setup():
    class Point:
        pass
    return Point


def work(Point, tid, n):
    p = None
    for _ in range(n):
        p = Point(); p = Point(); p = Point(); p = Point()
