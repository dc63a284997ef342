"""Prints the load time of every split: first load (decode + verify) and cached load.

    make benchmark        # or: .venv/bin/python benchmarks/data_load.py

The first load uses a fresh, empty cache directory so it measures decoding and the
content check; the second is a new process-level load from the .npy cache.
"""
import os
import tempfile
import time

from autograder.student import data


def timed(load, split):
    start = time.perf_counter()
    images, _ = load(split)
    return time.perf_counter() - start, images.shape


def main():
    with tempfile.TemporaryDirectory() as cache:
        os.environ["AUTOGRADER_CACHE"] = cache
        print(f"data root: {data.data_root()}")
        print(f"{'split':<16}{'first load (s)':>16}{'cached load (s)':>17}  shape")
        for name, load in (("mnist", data.mnist_arrays), ("cifar10", data.cifar10_arrays)):
            for split in data.SPLITS:
                data._official.cache_clear()
                data.split_indices.cache_clear()
                first, shape = timed(load, split)
                data._official.cache_clear()  # forget the in-memory copy: read the cache
                data.split_indices.cache_clear()
                cached, _ = timed(load, split)
                print(f"{name + '/' + split:<16}{first:>16.3f}{cached:>17.3f}  {shape}")


if __name__ == "__main__":
    main()
