"""nbgrader configuration: the course directory is the repository root.

The settings are built by ``Course.directory_config`` (autograder/grader/course.py), the
same code the autograder runs nbgrader with, so `nbgrader ...` run here and `autograder ...`
cannot disagree (tests/test_course_config.py).
"""
import os

from autograder.grader.course import Course

c = get_config()  # noqa: F821 (provided by traitlets when nbgrader loads this file)
c.merge(Course(os.path.dirname(os.path.abspath(__file__))).directory_config())
