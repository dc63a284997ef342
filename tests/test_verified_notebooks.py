"""The verified-notebook cache: a notebook whose cells all passed is not run again until
its content (or the kit, the data, the versions) changes; a failing one always runs."""
import json
import os
import subprocess
import sys

from tests.conftest import REPO


def nbval(folder, cache):
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "PYTHONPATH": str(REPO)}
    env.pop("AUTOGRADER_REVERIFY", None)
    done = subprocess.run([sys.executable, "-m", "pytest", str(folder), "--nbval-lax", "-q",
                           "-p", "tests.verified_notebooks", "-p", "no:cacheprovider",
                           "--rootdir", str(folder)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    return done.returncode, done.stdout


def write_notebook(path, code):
    cell = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
            "source": code}
    path.write_text(json.dumps({"cells": [cell], "metadata": {"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5}))


def test_a_passing_notebook_runs_once_per_content_and_a_failing_one_every_time(tmp_path):
    folder, cache = tmp_path / "nbs", tmp_path / "cache"
    folder.mkdir()
    good, bad = folder / "good.ipynb", folder / "bad.ipynb"
    write_notebook(good, "x = 1 + 1\nassert x == 2")
    write_notebook(bad, "assert 1 == 2, 'teacher notebook broken'")

    code, out = nbval(folder, cache)
    assert code == 1 and "1 failed, 1 passed" in out, out
    assert len(list((cache / "autograder" / "verified-notebooks").glob("*.json"))) == 1

    code, out = nbval(folder, cache)
    assert code == 1 and "1 failed, 1 deselected" in out, out
    assert "good.ipynb not run again" in out and "bad.ipynb not run again" not in out

    write_notebook(good, "x = 1 + 2\nassert x == 3")  # a changed notebook runs again
    code, out = nbval(folder, cache)
    assert "1 failed, 1 passed" in out and "not run again" not in out, out
