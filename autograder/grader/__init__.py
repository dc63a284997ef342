"""The grader side of the kit: never bundled to students, never importable in a kernel.

``references``  implementations the judge compares student work with (answers to
                exercises live only here) and the mistakes they diagnose
``pipeline``    release, collect, grade, judge, feedback, export
``cli``         the ``autograder`` command
"""
