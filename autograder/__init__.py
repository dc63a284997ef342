"""Deep-learning course kit, in two halves split along the trust boundary.

``autograder.student``  what students receive and what a grading kernel can import: the
                        data loader (``data``) and the check library (``checks``: visible
                        tests and the *collect* halves of every check). Never holds a
                        reference answer to an exercise.
``autograder.grader``   the instructor's side: reference implementations the judge needs,
                        the grading pipeline and the command line. Never bundled, never
                        importable in a grading kernel.
"""

__version__ = "0.1.0"
