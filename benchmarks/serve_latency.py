"""Latency from upload to feedback, and throughput, of ``autograder serve`` on a course.

    python benchmarks/serve_latency.py COURSE NOTEBOOK ASSIGNMENT [--students N]
        [--each K] [--workers W]

Starts the service on a free loopback port, issues N student tokens, posts K copies of
NOTEBOOK per student at once, and prints each submission's seconds from the POST to
graded, and the submissions graded per minute. Run ``uptime`` beside it: the numbers
mean little on a loaded machine.
"""
import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from autograder.grader.course import Course  # noqa: E402
from autograder.grader.serve import tokens  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("course")
    parser.add_argument("notebook", type=Path)
    parser.add_argument("assignment")
    parser.add_argument("--students", type=int, default=1)
    parser.add_argument("--each", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    course = Course(args.course)
    keys = {f"bench{i:02d}": tokens.issue(course, f"bench{i:02d}") for i in range(args.students)}
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "autograder.grader.cli", "--course",
                               args.course, "serve", "--port", str(port), "--workers",
                               str(args.workers), "--per-hour", "1000"],
                              start_new_session=True)
    try:
        while True:
            try:
                httpx.get(f"{url}/login", timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        data = args.notebook.read_bytes()

        def send(key):
            started = time.time()
            answer = httpx.post(f"{url}/api/submissions/{args.assignment}",
                                headers={"Authorization": f"Bearer {key}"},
                                files={"notebook": (args.notebook.name, data)}, timeout=120)
            answer.raise_for_status()
            return key, answer.json()["status_url"], started

        started = time.time()
        with ThreadPoolExecutor(32) as pool:
            posted = list(pool.map(send, [k for k in keys.values() for _ in range(args.each)]))
        done = {}
        while len(done) < len(posted):
            for key, status_url, sent in posted:
                if status_url in done:
                    continue
                state = httpx.get(status_url, headers={"Authorization": f"Bearer {key}"}).json()
                if state["status"] in ("graded", "failed"):
                    done[status_url] = (time.time() - sent, state["status"], state["score"])
            time.sleep(0.5)
        total = time.time() - started
        for seconds, status, score in done.values():
            print(f"{seconds:7.1f} s  {status}  score {score}")
        print(f"{len(done)} submissions in {total:.1f} s: {60 * len(done) / total:.1f} per minute"
              f" with {args.workers} worker(s)")
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


if __name__ == "__main__":
    main()
