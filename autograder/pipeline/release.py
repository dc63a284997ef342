"""Release: nbgrader generate_assignment for each assignment, then the leak check."""
from __future__ import annotations

from .course import Course
from .leakcheck import check_release, raise_on_leaks


class ReleaseError(RuntimeError):
    pass


def release(course: Course, assignments: list[str] | None = None) -> list[str]:
    """Generate the student versions into ``assignments/`` and verify nothing leaked.

    Output: the assignment ids released. Raises ReleaseError or LeakError.
    """
    known = course.assignments()
    assignments = assignments or known
    unknown = [a for a in assignments if a not in known]
    if unknown:
        raise ReleaseError(f"no such assignment(s) in {course.source}: {unknown}; "
                           f"available: {known}")
    api = course.api()
    for assignment in assignments:
        result = api.generate_assignment(assignment, force=True, create=True)
        if not result["success"]:
            raise ReleaseError(f"nbgrader could not generate {assignment}:\n"
                               f"{result.get('error') or result.get('log')}")
        strip_volatile_metadata(course, assignment)
    raise_on_leaks(check_release(course.source, course.release))
    return assignments


def strip_volatile_metadata(course: Course, assignment: str) -> None:
    """Make the release byte-for-byte reproducible (CI compares it with a regeneration)."""
    import json

    for path in (course.release / assignment).glob("*.ipynb"):
        nb = json.loads(path.read_text(encoding="utf-8"))
        for cell in nb.get("cells", []):
            if cell.get("cell_type") == "code":
                cell["execution_count"] = None
                cell["outputs"] = []
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n",
                        encoding="utf-8")
