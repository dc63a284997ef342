"""``autograder-submit NOTEBOOK --server URL --token T``: hand in a notebook to the course's
feedback service (``autograder serve``) and print the score once it is graded.

Standard library only (urllib), so it runs wherever the notebook does, also from a
notebook cell: ``!autograder-submit a1_numpy_mlp.ipynb --server ... --token ...``. The
assignment is the notebook's folder name unless ``--assignment`` says otherwise; the
files the assignment asks for besides the notebook go with ``--file NAME=PATH``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path


def multipart(files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    """A multipart/form-data body of ``files`` ({field: (file name, bytes)}) and its type."""
    boundary = uuid.uuid4().hex
    parts = []
    for field, (name, data) in files.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
                     f'filename="{name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
                     .encode() + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), \
        f"multipart/form-data; boundary={boundary}"


def request(url: str, token: str, body: bytes | None = None, kind: str | None = None) -> dict:
    """The JSON answer of the service; SystemExit with its error message on a refusal."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    if kind:
        headers["Content-Type"] = kind
    try:
        with urllib.request.urlopen(urllib.request.Request(url, body, headers), timeout=60) as r:
            return json.loads(r.read().decode())
    except urllib.error.HTTPError as err:
        try:
            message = json.loads(err.read().decode()).get("error", "")
        except ValueError:
            message = ""
        raise SystemExit(f"refused ({err.code}): {message or err.reason}") from None
    except urllib.error.URLError as err:
        raise SystemExit(f"cannot reach {url}: {err.reason}") from None


def submit(notebook: Path, server: str, token: str, assignment: str,
           extra: dict[str, Path], wait: float = 1800.0, out=sys.stdout) -> dict:
    """Submit, then poll the status until graded or failed (at most ``wait`` seconds)."""
    files = {"notebook": (notebook.name, notebook.read_bytes())}
    files.update({name: (name, path.read_bytes()) for name, path in extra.items()})
    body, kind = multipart(files)
    base = server.rstrip("/")
    answer = request(f"{base}/api/submissions/{assignment}", token, body, kind)
    print(f"submitted {notebook.name} to {assignment}: {answer['id']}; waiting for the grade",
          file=out, flush=True)
    deadline = time.time() + wait
    while time.time() < deadline:
        state = request(answer["status_url"], token)
        if state["status"] in ("graded", "failed"):
            break
        time.sleep(2)
    else:
        raise SystemExit(f"not graded after {wait:.0f} s; see {answer['status_url']}")
    if state["status"] == "failed":
        print(f"grading failed; see {base}{state['feedback_url']}", file=out)
    else:
        scope = "" if state.get("complete") else " (the visible checks; the rest after the deadline)"
        print(f"score: {state['score']:g} / {state['max_score']:g}{scope}\n"
              f"feedback: {base}{state['feedback_url']}", file=out)
    return state


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="autograder-submit", description=__doc__.split("\n\n")[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--server", default=os.environ.get("AUTOGRADER_SERVER"),
                        help="the service's address (or $AUTOGRADER_SERVER)")
    parser.add_argument("--token", default=os.environ.get("AUTOGRADER_TOKEN"),
                        help="your token from the course staff (or $AUTOGRADER_TOKEN)")
    parser.add_argument("--assignment", help="default: the notebook's folder name")
    parser.add_argument("--file", action="append", default=[], metavar="NAME=PATH",
                        help="a file the assignment asks for besides the notebook")
    parser.add_argument("--wait", type=float, default=1800.0, help="seconds to wait for the grade")
    args = parser.parse_args(argv)
    if not args.server or not args.token:
        parser.error("give --server and --token (or AUTOGRADER_SERVER and AUTOGRADER_TOKEN)")
    if not args.notebook.is_file():
        parser.error(f"no notebook {args.notebook}")
    extra = {}
    for item in args.file:
        name, _, path = item.partition("=")
        if not path:
            parser.error(f"--file {item}: write NAME=PATH, e.g. report.pdf=./report.pdf")
        extra[name] = Path(path)
    assignment = args.assignment or args.notebook.resolve().parent.name
    submit(args.notebook, args.server, args.token, assignment, extra, args.wait)
    return 0


if __name__ == "__main__":
    sys.exit(main())
