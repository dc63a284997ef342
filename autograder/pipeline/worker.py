"""One grading job, run as its own process: ``python -m autograder.pipeline.worker``.

It autogrades one student's submission of one assignment inside a private copy of the
course (see grade.py), so a crash, a timeout or a hostile notebook cannot touch the real
gradebook or other submissions. It prints one JSON line: {"success": bool, "error": str}.
"""
from __future__ import annotations

import argparse
import json
import sys

from .course import Course


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("jobdir")
    parser.add_argument("assignment")
    parser.add_argument("student")
    parser.add_argument("--cell-timeout", type=int, required=True)
    args = parser.parse_args(argv)
    api = Course(args.jobdir).api(cell=args.cell_timeout)
    result = api.autograde(args.assignment, args.student, force=True, create=True)
    error = "" if result["success"] else (result.get("error") or result.get("log") or "")
    print(json.dumps({"success": bool(result["success"]), "error": error[-4000:]}))
    return 0 if result["success"] else 1


if __name__ == "__main__":
    sys.exit(main())
