"""Stage 3, run: execute each submission's notebook in the sandbox, one job per submission.

    records     the typed records a job crosses processes as: JobSpec, Outcome; the
                batch's GradingSettings
    jobs        a job's scratch course, nonce, kernel environment and spec; the budgets
    warm        the coordinator's handle on a long-lived worker process
    worker      the worker: runs nbgrader autograde for one job spec after another
    kernels     starts the next job's sandboxed kernel while the current one runs
    execute     nbgrader's executor with the output cap and the kernel killed before writes
    harvest     copies what a job produced back as hostile data (sizes, links, names)
    outcome     a worker's report -> the job's status, message and limit notes
    cluster     the same jobs on Dask workers (``--scheduler``)
    progress    the progress line of a batch

Nothing here scores anything: a job's points are decided by the judge (next stage).
"""
