"""Stage 2, collect: folders, LMS downloads and zips -> ``submitted/<student>/<assignment>/``.

    collect     finds each student's notebook and hand-in files, refuses what is not one

Student files are only copied here, never opened as code.
"""
