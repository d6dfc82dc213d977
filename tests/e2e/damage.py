"""Shared by the tests that feed damaged input to mallog (t_*_mutated.sh): a run passes when it
ends with exit 0, 1 or 2, within a minute, without a sanitizer report (make e2e-asan runs the
CLI under ASan+UBSan). Random choices come from a fixed seed, so a failure repeats."""
import os
import random
import subprocess

random.seed(20261124)
ENV = dict(os.environ, ASAN_OPTIONS="detect_leaks=0", UBSAN_OPTIONS="halt_on_error=1")


def failure(argv):
    """What went wrong running argv, or None."""
    try:
        r = subprocess.run(argv, capture_output=True, timeout=60, env=ENV)
    except subprocess.TimeoutExpired:
        return "hang"
    err = r.stderr.decode(errors="replace")
    if r.returncode not in (0, 1, 2) or "Sanitizer" in err or "runtime error" in err:
        return "exit %d: %s" % (r.returncode, err[-800:])
    return None
