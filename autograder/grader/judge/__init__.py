"""Stage 4, judge: the trusted verdict on each submission, in a process that runs no student code.

    judge_process   the long-lived judge process the coordinator sends requests to
    request         the JudgeRequest the coordinator sends it, one per submission
    judge           rebuilds each test cell's checks and decides them from the evidence
    evidence        reads the kernel's evidence file as bounded, strict data
    inspection      has the sandboxed inspector open a saved file; reads its answer
    inspector       runs in the sandbox: loads a saved file, answers with plain data
    answers         strict reading of the inspector's answer files
    loading         loading saved arrays (.npz, state_dict): inside the inspector only
    torchscript     loading a TorchScript archive, refusing file and remote operators
    archive         the verdict on a saved archive: parameter cap and accuracy
    fingerprint     what a saved model looks like, unit by unit, for copy detection
    similarity      near-duplicate models across a class
    diagnose        which failed answer of the student's a failing check reaches
    stops           why a test cell stopped: a visible assert, a NameError, a file not saved
    redact          hidden test text never reaches a message students see

Depends on the run stage only for the worker protocol (judge_process) and the records'
strict reading (request); never on the
stages after it.
"""
