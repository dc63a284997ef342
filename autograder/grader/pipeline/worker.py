"""One grading job, run as its own process: ``python -m autograder.grader.pipeline.worker``.

It autogrades one student's submission of one assignment inside a private copy of the
course (see grade.py), so a crash, a timeout or a hostile notebook cannot touch the real
gradebook or other submissions. The notebook runs in a kernel that can import only the
student side of the kit (see ``write_kernelspec``). It prints one JSON line:
{"success": bool, "error": str}.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import sysconfig
from pathlib import Path

from .course import Course

KERNEL = "graded-python3"


def write_student_kit(repo: Path, destination: Path) -> Path:
    """A copy of the student side of the package (``autograder/__init__.py`` and
    ``autograder/student``): all a grading kernel may import of the kit."""
    package = destination / "autograder"
    package.mkdir(parents=True, exist_ok=True)
    shutil.copy2(repo / "autograder" / "__init__.py", package / "__init__.py")
    shutil.copytree(repo / "autograder" / "student", package / "student",
                    ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
    return destination


def write_kernelspec(jobdir: Path, kit: Path) -> Path:
    """A kernelspec whose Python finds the kit only in ``kit``.

    ``python -S`` skips site-packages' ``.pth`` files, among them the editable install's
    finder that would resolve ``autograder.grader`` from the repository; site-packages
    itself stays on the path through PYTHONPATH, after the kit.
    Output: the folder to put on JUPYTER_PATH.
    """
    site_packages = sysconfig.get_paths()["purelib"]
    folder = jobdir / "jupyter" / "kernels" / KERNEL
    folder.mkdir(parents=True, exist_ok=True)
    spec = {"argv": [sys.executable, "-S", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "graded notebook (student side of the kit only)",
            "language": "python",
            "env": {"PYTHONPATH": os.pathsep.join([str(kit), site_packages])}}
    (folder / "kernel.json").write_text(json.dumps(spec, indent=1))
    return jobdir / "jupyter"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("jobdir")
    parser.add_argument("assignment")
    parser.add_argument("student")
    parser.add_argument("--cell-timeout", type=int, required=True)
    parser.add_argument("--kit", required=True, help="folder holding the student-side kit")
    args = parser.parse_args(argv)
    jupyter_path = write_kernelspec(Path(args.jobdir), Path(args.kit).resolve())
    os.environ["JUPYTER_PATH"] = str(jupyter_path)  # read by the kernel manager, not by us
    api = Course(args.jobdir).api(kernel=KERNEL, cell=args.cell_timeout)
    result = api.autograde(args.assignment, args.student, force=True, create=True)
    error = "" if result["success"] else (result.get("error") or result.get("log") or "")
    print(json.dumps({"success": bool(result["success"]), "error": error[-4000:]}))
    return 0 if result["success"] else 1


if __name__ == "__main__":
    sys.exit(main())
