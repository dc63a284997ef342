"""The student side of the kit: bundled to students, importable in a grading kernel.

``data``    MNIST and CIFAR-10 with the course's fixed splits (``from autograder.student
            import data``).
``checks``  the check library visible and hidden tests call.

Nothing here implements an exercise: ``autograder release --bundle`` refuses a bundle in
which a function or class matches a graded solution of ``source/``.
"""
