"""The commands the command line and the demo call, with explicit arguments."""
from autograder.grader import cli


def test_the_demo_of_a_course_without_assignments_only_checks_the_data(tmp_path, data_root,
                                                                      capsys):
    (tmp_path / "source").mkdir()
    assert cli.main(["--course", str(tmp_path), "demo"]) == 0
    out = capsys.readouterr().out
    assert "no assignments in source/ yet: only the data can be checked" in out
    assert "all content checksums match" in out and "mnist/train" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["source"]  # nothing else written
