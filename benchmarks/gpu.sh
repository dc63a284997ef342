#!/usr/bin/env bash
# Grading on a GPU, measured (issue 25). Two steps:
#
#   benchmarks/gpu.sh prep      HERE, on the development machine (the venv, the data):
#       writes the git-ignored folder .gpu/ (about 33 MB):
#         .gpu/subset/cifar10_subset.npz  the first 10,000 images and labels of the kit's
#                                         CIFAR-10 "train" split (data.cifar10_arrays, content
#                                         checksums verified), uint8 (N, 32, 32, 3): real
#                                         CIFAR-10, a fifth of A5's training set
#         .gpu/bin/bwrap                  this machine's bubblewrap (the device image has none)
#       and, with `prep --full`, also .gpu/full/cifar.tar.partNN (CIFAR-10 whole, 60 MB
#       parts: one per device call, see below) and .gpu/full/wheels (nbgrader and its
#       dependencies for the device's Python 3.12: `pip download`, registry access needed).
#
#   benchmarks/gpu.sh measure   THERE, on the device machine (one NVIDIA H200; only the
#       working tree, at most 64 MiB, travels): run with carry [".gpu/subset", ".gpu/bin"]
#       and a timeout of 480 s. It prints, one line each:
#         - the GPU rows of `autograder doctor` (discovery, control nodes, torch, CUDA
#           inside the sandbox);
#         - the hostile probe, sandboxed with the GPU as a grading kernel is: /dev as it
#           sees it, /proc (its own pids only?), /proc/driver/nvidia, other GPUs' nodes,
#           CUDA_VISIBLE_DEVICES set to other values (device_count each time), nvidia-smi,
#           and the marker bytes of a previous sandboxed GPU process found in 1 GiB of
#           uninitialised GPU memory (0 expected), its RLIMIT_DATA with a CUDA context up;
#         - training throughput of A5's reference BetterCNN, sandboxed, on the GPU (all
#           10,000 subset images) and on the CPU (the first 2,048): images per second and
#           the seconds one pass over A5's 45,000 training images takes at that rate.
#       What it measures is throughput on part of the data, NOT the grading of an A5
#       submission: A5 reads CIFAR-10 whole (176 MB, checksummed), which does not travel
#       in one call.
#       With the whole data staged (below), `measure` also grades the A5 reference and the
#       sample class's `a5-mistakes` and `untouched` with --gpus auto and on the CPU, and
#       prints each submission's wall time and scores (they must be identical).
#
# Staging CIFAR-10 whole (prep --full): the device machine keeps ignored files between calls
# while it stays warm (30 s), so make the calls back to back: call k carries
# [".gpu/full/cifar.tar.partk"] with command `true`; the last carries
# [".gpu/subset", ".gpu/bin", ".gpu/full/wheels"] and runs `benchmarks/gpu.sh measure`,
# which joins the parts found into /tmp/gpu-data and verifies every checksum first.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

prep() {
    local py=${PYTHON:-.venv/bin/python}
    [ -x "$py" ] || py=/work/main/.venv/bin/python
    mkdir -p .gpu/subset .gpu/bin
    PYTHONPATH=$REPO "$py" - <<'EOF'
import numpy as np
from autograder.student import data

images, labels = data.cifar10_arrays("train")  # checksums verified
np.savez(".gpu/subset/cifar10_subset.npz", images=np.ascontiguousarray(images[:10000]),
         labels=np.asarray(labels[:10000], dtype=np.int64))
print(f"wrote .gpu/subset/cifar10_subset.npz: {len(images[:10000])} images of the kit's "
      f"train split (of {len(images)}), from {data.data_root()}")
EOF
    cp "$(command -v bwrap)" .gpu/bin/bwrap
    if [ "${1:-}" = "--full" ]; then
        mkdir -p .gpu/full/wheels
        root=$(PYTHONPATH=$REPO "$py" -c "from autograder.student import data; print(data.data_root())")
        tar -C "$root" -cf - cifar-10-batches-py | split -b 60M -d - .gpu/full/cifar.tar.part
        "$py" -m pip download --only-binary=:all: --python-version 3.12 --implementation cp \
            --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
            --platform manylinux2014_x86_64 -d .gpu/full/wheels nbgrader ipykernel
    fi
    du -sh .gpu/* .gpu/full/* 2>/dev/null || true
}

grade_a5() {  # $1: --gpus value; prints seconds per submission and scores
    local course=/tmp/gpu-course-$1
    rm -rf "$course" && mkdir -p "$course"
    cp -r source samples "$course"/
    autograder() { PYTHONPATH=$REPO:${PYTHONPATH:-} python3 -m autograder.grader.cli --course "$course" "$@"; }
    autograder release a5_cifar10 --no-selftest >/dev/null
    autograder sample-class /tmp/gpu-in-$1 a5_cifar10 >/dev/null
    mkdir -p /tmp/gpu-pick-$1
    for s in reference a5-mistakes untouched; do cp -r /tmp/gpu-in-$1/$s /tmp/gpu-pick-$1/; done
    autograder collect /tmp/gpu-pick-$1 >/dev/null
    if [ "$1" = none ]; then workers=(--workers 3); else workers=(); fi
    autograder grade a5_cifar10 --gpus "$1" "${workers[@]}"
    PYTHONPATH=$REPO:${PYTHONPATH:-} python3 - "$course" "$1" <<'EOF'
import json, sys
from autograder.grader.course import Course
from autograder.grader.record import gradebook, grading_record

course = Course(sys.argv[1])
for student in ("reference", "a5-mistakes", "untouched"):
    record = grading_record.load(course, student, "a5_cifar10")
    scores = {i.name: i.score for i in gradebook.submission_items(course, "a5_cifar10", student)
              if i.kind == "autograded test"}
    print(f"A5 --gpus {sys.argv[2]}: {student}: {record.seconds:.1f} s in its kernel, "
          f"{record.judge_seconds:.1f} s judging, scores {json.dumps(scores, sort_keys=True)}")
EOF
}

measure() {
    export PATH=$REPO/.gpu/bin:$PATH PYTHONUNBUFFERED=1 AUTOGRADER_OFFLINE=1
    nvidia-smi -L || true
    python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.is_available())"
    python3 benchmarks/gpu_probe.py host --subset .gpu/subset/cifar10_subset.npz --cpu-images 2048
    if ls .gpu/full/cifar.tar.part* >/dev/null 2>&1 && [ -d .gpu/full/wheels ]; then
        python3 -m pip install -q --no-index --no-deps --target /tmp/site .gpu/full/wheels/*.whl
        export PYTHONPATH=/tmp/site AUTOGRADER_DATA=/tmp/gpu-data AUTOGRADER_CACHE=/tmp/gpu-cache
        mkdir -p /tmp/gpu-data && cat .gpu/full/cifar.tar.part* | tar -C /tmp/gpu-data -xf -
        if PYTHONPATH=$REPO:/tmp/site python3 -c "from autograder.student import data
for split in ('train', 'val', 'test'): data.cifar10_arrays(split)  # checksums verified
print('CIFAR-10 whole, checksums verified')"; then
            grade_a5 auto
            grade_a5 none
        fi
    else
        echo "A5 grading: not measured (CIFAR-10 whole and nbgrader not staged: see the top of this script)"
    fi
}

case "${1:-}" in
    prep) shift; prep "$@" ;;
    measure) measure ;;
    *) sed -n '2,40p' "$0"; exit 2 ;;
esac
