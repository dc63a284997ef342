"""Release: check that the judge can replay every test cell, run nbgrader
generate_assignment for each assignment, then the leak check.

nbgrader writes into a staging folder; only when the leak check has passed do the
student versions replace ``assignments/<id>/``. A release that leaks leaves nothing
behind that could be handed out.
"""
from __future__ import annotations

import json
import shutil

from ..course import Course
from .leakcheck import check_release, raise_on_leaks
from ..replay import ReplayError
from ..assignment import read_assignment, test_cells
from ..settings import SettingsError

STAGING = ".release-staging"


class ReleaseError(RuntimeError):
    pass


def release(course: Course, assignments: list[str] | None = None) -> list[str]:
    """Generate the student versions into ``assignments/`` and verify nothing leaked.

    Output: the assignment ids released. Raises ReleaseError or LeakError; in both cases
    ``assignments/`` is left as it was.
    """
    known = course.assignments()
    assignments = assignments or known
    unknown = [a for a in assignments if a not in known]
    if unknown:
        raise ReleaseError(f"no such assignment(s) in {course.source}: {unknown}; "
                           f"available: {known}")
    for assignment in assignments:
        try:
            test_cells(course, assignment)  # the judge must be able to replay every point
            read_assignment(course, assignment).options  # and use the notebook's settings
        except (ReplayError, SettingsError) as err:
            raise ReleaseError(f"{assignment}: {err}") from None
    staging = course.root / STAGING
    shutil.rmtree(staging, ignore_errors=True)
    try:
        api = course.api(release_directory=STAGING)
        for assignment in assignments:
            result = api.generate_assignment(assignment, force=True, create=True)
            if not result["success"]:
                raise ReleaseError(f"nbgrader could not generate {assignment}:\n"
                                   f"{result.get('error') or result.get('log')}")
            strip_volatile_metadata(staging / assignment)
        raise_on_leaks(check_release(course.source, staging))
        for assignment in assignments:
            target = course.release / assignment
            shutil.rmtree(target, ignore_errors=True)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(staging / assignment), str(target))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return assignments


def strip_volatile_metadata(folder) -> None:
    """Make the release byte-for-byte reproducible (CI compares it with a regeneration)."""
    for path in folder.glob("*.ipynb"):
        nb = json.loads(path.read_text(encoding="utf-8"))
        for cell in nb.get("cells", []):
            if cell.get("cell_type") == "code":
                cell["execution_count"] = None
                cell["outputs"] = []
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n",
                        encoding="utf-8")
