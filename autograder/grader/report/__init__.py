"""Stage 6, report: what students and staff read, built from the record only.

    summary     the table ``autograder grade`` prints
    feedback    one HTML page per student, without hidden tests or solutions
    work        the student's own cells and figures shown on their feedback page
    dashboard   the class at a glance: histograms, problems, models to look at
    export      grades CSV and Gradescope ``results.json``
    render      Jinja2 templates, plots as inline PNG
"""
