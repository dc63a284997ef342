"""Stage 5, record: the gradebook is the system of record.

    gradebook   merges a job's grades and the judge's verdicts in one transaction
    journal     which jobs of a batch are done, so a stopped run resumes
    outcomes    reads back a graded submission: notes, job status, verdicts per cell
"""
