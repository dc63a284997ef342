"""The student bundle on the real course: it ships the student side only, and a bundle
that would give a student the implementation of a graded exercise is refused and deleted.
"""
import ast
import json
import shutil
import zipfile

import pytest

from autograder.grader.release.bundle import write_bundle
from autograder.grader.course import Course
from autograder.grader.release.exercises import graded_exercises
from autograder.grader.release.leakcheck import LeakError
from tests.conftest import REPO

COURSE = Course(REPO)


def solution_function(assignment: str, qualified_name: str) -> str:
    """The source of a function with a solution region in the assignment's teacher notebook."""
    nb = json.loads((REPO / "source" / assignment / f"{assignment}.ipynb").read_text())
    class_name, _, function = qualified_name.rpartition(".")
    for cell in nb["cells"]:
        code = "".join(cell["source"])
        if "BEGIN SOLUTION" not in code or cell["cell_type"] != "code":
            continue
        tree = ast.parse("\n".join("" if l.lstrip().startswith(("%", "!")) else l
                                   for l in code.splitlines()))
        for node in ast.walk(tree):
            scope = node.body if isinstance(node, ast.ClassDef) and node.name == class_name else []
            if not class_name and isinstance(node, ast.Module):
                scope = node.body
            for item in scope:
                if isinstance(item, ast.FunctionDef) and item.name == function:
                    return ast.unparse(item)
    raise LookupError(f"{qualified_name} not in {assignment}")


class Renamer(ast.NodeTransformer):
    """Every variable, argument and the function itself under another name."""

    def visit_Name(self, node):
        node.id = f"my_{node.id}" if node.id not in ("np", "torch", "F", "range", "len") else node.id
        return node

    def visit_arg(self, node):
        node.arg = f"my_{node.arg}"
        return node

    def visit_FunctionDef(self, node):
        node.name = "helper_" + node.name
        self.generic_visit(node)
        return node


@pytest.fixture
def kit_copy(tmp_path):
    """A copy of the kit's student side and install files, to plant things in."""
    root = tmp_path / "kit"
    (root / "autograder").mkdir(parents=True)
    shutil.copy(REPO / "autograder" / "__init__.py", root / "autograder")
    shutil.copytree(REPO / "autograder" / "student", root / "autograder" / "student",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", root)
    return root


def test_the_real_bundle_passes_and_holds_the_student_side_only(tmp_path):
    bundle = write_bundle(COURSE, REPO, tmp_path / "bundle.zip")
    names = zipfile.ZipFile(bundle).namelist()
    assert "autograder/student/checks/core.py" in names and "autograder/student/data.py" in names
    assert not any(n.startswith(("autograder/grader/", "source/", "tests/", "samples/"))
                   for n in names)
    for assignment in COURSE.assignments():
        assert f"assignments/{assignment}/{assignment}.ipynb" in names
    pyproject = zipfile.ZipFile(bundle).read("pyproject.toml").decode()
    assert "autograder.student" in pyproject


def test_the_bundle_installs_what_students_import_and_nothing_of_the_grader(tmp_path):
    import tomllib

    bundle = zipfile.ZipFile(write_bundle(COURSE, REPO, tmp_path / "bundle.zip"))
    project = tomllib.loads(bundle.read("pyproject.toml").decode())["project"]
    names = {pin.split("==")[0] for pin in project["dependencies"]}
    assert names == {"numpy", "torch", "torchvision", "matplotlib", "tqdm", "jupyterlab",
                     "ipykernel"}
    assert project["optional-dependencies"]["validate"] == ["nbgrader==0.9.6"]
    environment = bundle.read("environment.yml").decode()
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in environment
    assert not any(tool in environment for tool in ("dask", "distributed", "nbgrader", "pytest"))
    # every file unpacks readable, whatever the umask of the machine that wrote it
    assert {info.external_attr >> 16 for info in bundle.infolist()} == {0o100644}


def test_a_new_import_on_the_student_side_brings_its_pin(kit_copy, tmp_path):
    helper = kit_copy / "autograder" / "student" / "plots.py"
    helper.write_text("import dask\n")  # whatever it is, students need it to run the kit
    bundle = zipfile.ZipFile(write_bundle(COURSE, kit_copy, tmp_path / "bundle.zip"))
    assert '"dask==2026.8.0"' in bundle.read("pyproject.toml").decode()


def test_the_bundle_readme_says_what_to_hand_in_and_how_to_work_offline(tmp_path):
    readme = zipfile.ZipFile(write_bundle(COURSE, REPO, tmp_path / "bundle.zip")).read(
        "README.md").decode()
    assert "- a1_numpy_mlp: `a1_numpy_mlp.ipynb`, `a1_weights.npz`" in readme
    assert "- a5_cifar10: `a5_cifar10.ipynb`, `a5_model.ts`" in readme
    assert "AUTOGRADER_OFFLINE=1" in readme and "--index-url https://download.pytorch.org/whl/cpu" in readme
    assert "Restart Kernel and\nRun All Cells" in readme


def test_the_exercises_cover_every_assignment():
    found = {e.notebook for e in graded_exercises(sorted((REPO / "source").rglob("*.ipynb")))}
    assert found == {f"{a}.ipynb" for a in COURSE.assignments()}


def test_a_solution_copied_under_another_name_is_refused(kit_copy, tmp_path):
    copied = solution_function("a3_torch_cnn", "train_one_epoch").replace(
        "def train_one_epoch(", "def _fit_once(")
    (kit_copy / "autograder" / "student" / "helpers.py").write_text(
        "import torch.nn.functional as F\n\n\n" + copied + "\n")
    destination = tmp_path / "out" / "bundle.zip"
    with pytest.raises(LeakError) as caught:
        write_bundle(COURSE, kit_copy, destination)
    message = str(caught.value)
    assert "autograder/student/helpers.py: _fit_once implements the graded exercise " \
           "train_one_epoch of a3_torch_cnn.ipynb (a copy)" in message
    assert not destination.exists() and list(destination.parent.iterdir()) == []


def test_a_solution_with_renamed_variables_is_refused(kit_copy, tmp_path):
    tree = Renamer().visit(ast.parse(solution_function("a1_numpy_mlp", "Adam.update")))
    renamed = ast.unparse(tree)
    assert "helper_update" in renamed and "my_" in renamed
    checks_module = kit_copy / "autograder" / "student" / "checks" / "convert.py"
    checks_module.write_text(checks_module.read_text() + "\n\n" + renamed + "\n")
    destination = tmp_path / "bundle.zip"
    destination.write_bytes(b"an older bundle, now stale")
    with pytest.raises(LeakError, match=r"autograder/student/checks/convert.py: helper_update "
                                        r"implements the graded exercise Adam.update of "
                                        r"a1_numpy_mlp.ipynb"):
        write_bundle(COURSE, kit_copy, destination)
    assert not destination.exists()  # neither the failed bundle nor the stale one is left


def test_generic_lines_shared_with_solutions_are_not_leaks(kit_copy, tmp_path):
    helper = ("import torch.nn.functional as F\n\n\n"
              "def mean_batch_loss(model, loader):\n"
              "    total = 0.0\n"
              "    for x, y in loader:\n"
              "        total += F.cross_entropy(model(x), y).item()\n"
              "    return total / len(loader)\n")
    (kit_copy / "autograder" / "student" / "helpers.py").write_text(helper)
    assert write_bundle(COURSE, kit_copy, tmp_path / "bundle.zip").exists()


def test_a_hint_that_pastes_a_solution_line_is_refused_with_file_line_and_solution(
        kit_copy, tmp_path):
    module = kit_copy / "autograder" / "student" / "checks" / "numpy_code" / "evaluation.py"
    text = module.read_text()
    planted = ('\n\ndef _hint():\n    return ("a repeated pair counts once: use "\n'
               '            "np.add.at(M, (y_true, y_pred), 1)")\n')
    module.write_text(text + planted)
    line = len(text.splitlines()) + 4  # the string's first line
    with pytest.raises(LeakError) as caught:
        write_bundle(COURSE, kit_copy, tmp_path / "bundle.zip")
    assert (f"autograder/student/checks/numpy_code/evaluation.py, line {line}: solution line from "
            "a1_numpy_mlp.ipynb: 'np.add.at(M, (y_true, y_pred), 1)'") in str(caught.value)


def test_a_solution_line_as_code_in_the_bundle_is_refused(kit_copy, tmp_path):
    module = kit_copy / "autograder" / "student" / "checks" / "convert.py"
    module.write_text(module.read_text() + "\n\ndef _count(M, y_true, y_pred):\n"
                      "    np.add.at(M, (y_true, y_pred), 1)\n")
    with pytest.raises(LeakError, match=r"convert.py, line \d+: solution line from "
                                        r"a1_numpy_mlp.ipynb: 'np.add.at"):
        write_bundle(COURSE, kit_copy, tmp_path / "bundle.zip")


def test_the_kit_student_side_quotes_no_solution_line():
    from autograder.grader.release.bundle import student_package_files
    from autograder.grader.release.leakcheck import solution_lines_in_code

    assert solution_lines_in_code(sorted((REPO / "source").rglob("*.ipynb")),
                                  student_package_files(REPO), base=REPO) == []
