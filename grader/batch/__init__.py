"""A class folder graded as one batch, or as shards on many machines and merged.

Its modules, each importing only those above it (``tests/test_batch_imports.py`` holds them to it):

    outcome       what grading one submission came to (status, report, reason) and its JSON form
    sharding      which shard grades which submission: a stable split every machine computes alike
    progress      the progress bar and lines
    intake        which entries of the class folder are submissions, their names, safe unzipping
    store         OUT: each submission's result and fingerprint, written atomically
    fingerprints  what a rerun compares: a submission's graded files, the grader, its options
    feedback      OUT/feedback/<name>.txt and .md: what each student gets back
    merge         grades.csv, summary.html and the feedback, from the results in OUT
    pool          the grading processes, forked before any torch op, and the stop signals
    run           a batch or a shard of it from start to end, and the merge of the shards
    slurm         a batch as a Slurm job array plus a merge job: the scripts, kept in OUT, and sbatch

Nothing is imported here: a module of the package costs only what it imports itself.
"""
