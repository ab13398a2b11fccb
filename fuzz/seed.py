#!/usr/bin/env python3
"""seed.py - writes the fuzz targets' seed inputs into fuzz/corpus/.

    python3 fuzz/seed.py

Scenario seeds: every YAML file of scenarios/, fidelity/ and tests/ (as
they are). Expression seeds: every check (`checks:` items, mode byte 0) and
every `show`/`assert` expression (`expr:`, mode byte 1) in those files,
plus the expressions the C tests write (eval_is, eval_fails, and `expr:` or
`checks:` lines of inline scenarios). Each input is named by the SHA-1 of
its bytes, as libFuzzer names its own, so re-running adds nothing twice.

It also writes the dictionaries fuzz/scenario.dict and fuzz/expr.dict from
the ops' table (src/scenario/ops.h: op names and keys), the collector's
readings (src/scenario/ops.c) and the fixed words below, so they follow a
new op or key when re-run.
"""
import hashlib
import pathlib
import re
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"


def put(kind, data):
    d = CORPUS / kind
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


def walk_yaml(node, exprs):
    """Collects `checks:` items (mode 0) and `expr:` values (mode 1)."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "checks" and isinstance(v, list):
                exprs.update((0, x) for x in v if isinstance(x, str))
            elif k == "expr" and isinstance(v, str):
                exprs.add((1, v))
            else:
                walk_yaml(v, exprs)
    elif isinstance(node, list):
        for x in node:
            walk_yaml(x, exprs)


def c_strings(text):
    """The C string literals of text, unescaped enough for expressions."""
    for m in re.finditer(r'"((?:[^"\\\n]|\\.)*)"', text):
        yield m.group(1).replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")


TOP_KEYS = ["name", "about", "threads", "duration", "ops", "seed", "setup", "roles",
            "mix", "script", "init", "after", "checks", "expect", "params", "gc"]
YAML_WORDS = ["once", "hazards", "none", "some", "enabled", "thresholds", "freeze",
              "debug", "saveall", "type", "value", "items", "const", "del", "legacy",
              "into", "slots", "instance", "class", "function", "count", "resurrect",
              "nothing", "append-one", "append-one-none", "object", "int", "small-int",
              "list", "dict", "true", "false", "bare-object", "float", "str", "bytes",
              "bytearray", "tuple", "set", "frozenset", "wvdict", "random", "iter",
              "weight", "2s", "100ms", "1us", "$N", "{", "}", "[", "]", ": ", "- ",
              "\n  - ", "&a", "*a", "!!str", "---", "'", '"']
EXPR_WORDS = ["len(", "count(", "failed(", "id(", "getrefcount(", "getsizeof(", "value(",
              "interned(", "alive(", "finalized(", "callbacks()", "gc.is_tracked(",
              "gc.garbage", "gc.gen0.", "gc.gen1.", "gc.gen2.", "gc.gen3.", " and ",
              " or ", "not ", " is ", " is not ", "==", "!=", "<=", ">=", "<", ">", "+",
              "-", "*", "/", "%", "(", ")", ", ", "$N", "$BIG", "9223372036854775807",
              "-9223372036854775807 - 1", "L", "D", "N", "C", "S", "x", "w", "snap"]


def dict_line(word):
    """One entry in libFuzzer's format: "TEXT", with \\, \\" and \\xNN escapes."""
    out = ""
    for ch in word:
        if ch in '\\"':
            out += "\\" + ch
        elif " " <= ch <= "~":
            out += ch
        else:
            out += "\\x%02x" % ord(ch)
    return '"' + out + '"\n'


def write_dicts():
    ops_h = (ROOT / "src/scenario/ops.h").read_text()
    ops = re.findall(r'^\s*X\([A-Z_0-9]+,\s*"([a-z._]+)"', ops_h, re.M)
    keys = re.findall(r'X\([A-Z]+, "([a-z]+)"\)', ops_h)
    ops_c = (ROOT / "src/scenario/ops.c").read_text()
    readings = re.findall(r'\[GH_GCR_[A-Z_]+\] = "([a-z_]+)"', ops_c)
    if not ops or not keys or not readings:
        sys.exit("seed.py: found no ops, keys or readings in src/scenario/ops.{h,c}")
    scen = TOP_KEYS + keys + ops + YAML_WORDS
    expr = EXPR_WORDS + ops + ["gc." + r for r in readings]
    for name, words in (("scenario.dict", scen), ("expr.dict", expr)):
        seen = list(dict.fromkeys(words))
        (ROOT / "fuzz" / name).write_text(
            f"# fuzz/{name}: written by fuzz/seed.py\n" + "".join(map(dict_line, seen)))


def main():
    write_dicts()
    exprs = set()
    yamls = [p for d in ("scenarios", "fidelity", "tests")
             for p in sorted((ROOT / d).rglob("*.yaml"))]
    for p in yamls:
        data = p.read_bytes()
        put("scenario", data)
        try:
            walk_yaml(yaml.safe_load(data), exprs)
        except yaml.YAMLError:
            pass                # a bad-input test file: a scenario seed only
    for p in sorted((ROOT / "tests").rglob("*.c")):
        text = p.read_text(errors="replace")
        for m in re.finditer(r'\beval_(?:is|fails)\(\s*"((?:[^"\\]|\\.)*)"', text):
            exprs.add((0, m.group(1).replace('\\"', '"')))
        for s in c_strings(text):
            for m in re.finditer(r'expr: "([^"\n]*)"', s):
                exprs.add((1, m.group(1)))
            for m in re.finditer(r'checks:\n((?:  - [^\n]*\n?)+)', s):
                for line in m.group(1).splitlines():
                    exprs.add((0, line[4:]))
    for mode, e in sorted(exprs):
        put("expr", bytes([mode]) + e.encode())
    print(f"{len(yamls)} scenario seeds, {len(exprs)} expression seeds", file=sys.stderr)


if __name__ == "__main__":
    main()
