"""Stage 5, record: the gradebook is the system of record.

    gradebook       merges a job's grades and the judge's verdicts in one transaction
    grading_record  one record per graded submission (job status, verdicts, fingerprints),
                    written by the coordinator and read by every report through ``load``
    journal         which jobs of a batch are done, so a stopped run resumes
    outcomes        views of a graded submission: notes, limits, verdicts per cell
"""
