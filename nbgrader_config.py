"""nbgrader configuration: the course directory is the repository root."""
import os

from autograder.grader.course import NEVER_RELEASED

c = get_config()  # noqa: F821 (provided by traitlets when nbgrader loads this file)

c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "assignments"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(c.CourseDirectory.root, "gradebook.db")
c.CourseDirectory.course_id = "dl-course"
# Hidden tests stay in source/ only.
c.ClearHiddenTests.enforce_metadata = True
# Deleted or de-tagged test cells are put back from the source version when grading.
c.OverwriteCells.add_missing_cells = True
# Files a teacher's run leaves behind (trained weights) are never released.
c.CourseDirectory.ignore = list(NEVER_RELEASED)
# The autograder CLI (autograder/grader/course.py) builds the same configuration in
# code, with per-assignment cell timeouts; keep the two in step.
