"""run.py -- runs every end-to-end test module (test_*.py in this folder) and ends
with `e2e: N passed, N failed`. Usage: python3 tests/e2e/run.py [NAME-REGEX]."""
import glob
import importlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

for path in sorted(glob.glob(os.path.join(os.path.dirname(os.path.abspath(__file__)), "test_*.py"))):
    importlib.import_module(os.path.splitext(os.path.basename(path))[0])

sys.exit(harness.run_all(sys.argv[1] if len(sys.argv) > 1 else None))
