#!/usr/bin/env python3
"""Tests of run_verdict.py, smoke.sh's judgement of one run.

The fixture fixtures/gil-ticks-starved.json is real output: CI's
ThreadSanitizer build, `gilheap run scenarios/iterate-while-mutating.yaml
--strategy gil-ticks --threads 2 --duration 200ms --json F`, where the
reader lost all 1,354 races for the GIL and the progress checks failed.
Each test changes one thing and expects the verdict to follow it.
"""
import contextlib
import copy
import io
import json
import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run_verdict  # noqa: E402

with open(os.path.join(HERE, "fixtures", "gil-ticks-starved.json")) as f:
    STARVED = json.load(f)


def starved():
    return copy.deepcopy(STARVED)


def passed_checks(d):
    for c in d["checks"]:
        c["pass"] = True
    d["status"] = "passed"
    return d


class Verdict(unittest.TestCase):
    def judge(self, status, d, tsan=True):
        return run_verdict.verdict(status, d, tsan)

    def test_gil_ticks_starved_reader_is_the_convoy(self):
        ok, line = self.judge(1, starved())
        self.assertTrue(ok, line)
        self.assertTrue(line.startswith("starved: gil-ticks, thread 0 (reader)"), line)

    def test_starvation_on_the_plain_build_fails(self):
        ok, line = self.judge(1, starved(), tsan=False)
        self.assertFalse(ok, line)
        self.assertIn("count(list.iter) > 0", line)

    def test_every_thread_idle_is_not_a_convoy(self):
        d = starved()
        d["throughput"]["per_thread"][1]["ops"] = 0
        d["throughput"]["total_ops"] = 0
        ok, line = self.judge(1, d)
        self.assertFalse(ok, line)

    def test_one_idle_thread_alone_is_not_a_convoy(self):
        d = starved()
        d["throughput"]["per_thread"] = d["throughput"]["per_thread"][:1]
        d["config"]["threads"] = 1
        ok, line = self.judge(1, d)
        self.assertFalse(ok, line)

    def test_a_failures_only_check_is_not_progress(self):
        d = starved()
        d["checks"][2]["expr"] = "failed(dict.iter) > 0"
        ok, line = self.judge(1, d)
        self.assertFalse(ok, line)

    def test_json_without_a_field_fails_with_a_reason(self):
        d = starved()
        del d["hazards"]
        with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
            json.dump(d, f)
            f.flush()
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                rc = run_verdict.main(["run_verdict.py", "--tsan", "1", f.name])
        self.assertEqual(rc, 1)
        self.assertIn("the JSON lacks 'hazards'", out.getvalue())

    def test_the_same_starvation_under_gil_fails(self):
        d = starved()
        d["config"]["sync"] = d["config"]["preset"] = "gil"
        ok, line = self.judge(1, d)
        self.assertFalse(ok, line)
        self.assertIn("count(list.iter) > 0", line)

    def test_a_hazard_fails_even_when_starved(self):
        d = starved()
        d["hazards"]["total"] = 1
        d["hazards"]["counts"]["torn_read"] = 1
        ok, line = self.judge(1, d)
        self.assertFalse(ok, line)
        self.assertIn("hazards", line)

    def test_a_broken_invariant_fails_even_when_starved(self):
        d = starved()
        d["checks"][0]["pass"] = False
        ok, line = self.judge(1, d)
        self.assertFalse(ok, line)
        self.assertIn("len(L)", line)

    def test_failed_progress_with_every_thread_busy_fails(self):
        d = starved()
        d["throughput"]["per_thread"][0]["ops"] = 5
        ok, line = self.judge(1, d)
        self.assertFalse(ok, line)

    def test_a_leak_fails(self):
        d = passed_checks(starved())
        d["alloc"]["live_after_teardown"] = 3
        ok, line = self.judge(0, d)
        self.assertFalse(ok, line)
        self.assertIn("leaked", line)

    def test_clean_run_passes(self):
        ok, line = self.judge(0, passed_checks(starved()))
        self.assertEqual((ok, line), (True, "pass"))

    def test_unsafe_exit_1_passes_and_may_leak(self):
        d = starved()
        d["config"]["unsafe"] = True
        d["hazards"]["total"] = 7
        d["alloc"]["live_after_teardown"] = 12
        self.assertEqual(self.judge(1, d), (True, "pass"))

    def test_other_exit_status_fails(self):
        ok, line = self.judge(2, passed_checks(starved()))
        self.assertFalse(ok)
        self.assertIn("exit 2", line)

    def test_progress_pattern(self):
        p = run_verdict.is_progress
        for e in ["count(list.iter) > 0", "count(dict.iter) + failed(dict.iter) > 0",
                  "failed(a) + count(b) > 0", "count(dict.iter, DL) > 0",
                  "count(dict.iter, D) + failed(dict.iter, D) > 0"]:
            self.assertTrue(p(e), e)
        for e in ["len(L) == 100 + count(list.append) - count(list.pop)",
                  "count(list.iter) > 10", "count(a) - count(b) > 0", "hazards == 0",
                  "failed(list.iter) > 0", "failed(a) + failed(b) > 0",
                  "failed(dict.iter, DL) > 0", "count(dict.iter, DL, X) > 0"]:
            self.assertFalse(p(e), e)


if __name__ == "__main__":
    unittest.main(verbosity=1)
