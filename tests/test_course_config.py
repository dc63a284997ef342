"""nbgrader's settings have one definition (``Course.directory_config``), which the
repository's nbgrader_config.py loads: `nbgrader` run at the repository root and the
autograder see the same course."""
import json
import os
import subprocess
import sys

from traitlets.config.loader import PyFileConfigLoader

from autograder.grader.course import COURSE_ID, NEVER_RELEASED, Course
from tests.conftest import REPO


def test_the_nbgrader_config_file_holds_the_courses_settings():
    loaded = PyFileConfigLoader("nbgrader_config.py", path=str(REPO)).load_config()
    assert loaded == Course(REPO).directory_config()
    assert loaded.CourseDirectory.course_id == COURSE_ID
    assert loaded.CourseDirectory.root == str(REPO.resolve())
    assert loaded.CourseDirectory.ignore == list(NEVER_RELEASED)


def test_nbgrader_run_at_the_repository_root_reads_the_same_course():
    code = ("import json\nfrom nbgrader.apps import NbGraderApp\n"
            "app = NbGraderApp()\napp.initialize([])\n"
            "d = app.coursedir\n"
            "print(json.dumps([d.course_id, d.root, d.release_directory, d.db_url, d.ignore]))\n")
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": path}, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    course = Course(REPO)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [
        COURSE_ID, str(course.root), "assignments", f"sqlite:///{course.gradebook}",
        list(NEVER_RELEASED)]
