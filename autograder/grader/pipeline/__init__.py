"""The grading pipeline, one module per stage, in the order they run:

    course      where things live (nbgrader's course directory) and its configuration
    release     source/ -> assignments/ with nbgrader, then the leak check
    leakcheck   no solution, hidden test or mark scheme reaches a released file
    bundle      what students download: released notebooks + the autograder package
    collect     folders, LMS downloads and zips -> submitted/<student>/<assignment>/
    grade       run nbgrader autograde per submission in its own process and course copy
    judge       trusted re-scoring of accuracy from the weights a submission saved
    gradebook   merge a job's grades into the one gradebook; read scores back
    summary     the table `autograder grade` prints: points, problems, models to look at
    feedback    per-student HTML without hidden tests or solutions
    export      grades CSV and Gradescope results.json
    sample      the sample class: reference, untouched and buggy students
"""
