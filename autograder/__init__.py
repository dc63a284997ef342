"""Deep-learning course kit: data (`autograder.data`), checks (`autograder.checks`),
and the nbgrader grading pipeline (`autograder.cli`)."""

__version__ = "0.1.0"
