#!/usr/bin/env python3
"""Python's process pools on tiny tasks, for comparison with conductor::pool.

usage: pool_bench.py TASKS ROUNDS WORKERS

Runs multiprocessing.Pool.map(chunksize=1) and ProcessPoolExecutor.map
(chunksize=1) over TASKS tiny bytes tasks (an identity function), ROUNDS
times each, timing only the map (pools are started and warmed up first).
Prints one line per run: "<name> <tasks/s>".
"""

import concurrent.futures
import multiprocessing
import sys
import time


def echo(body):
    return body


def run_mp(pool, tasks):
    start = time.perf_counter()
    out = pool.map(echo, tasks, chunksize=1)
    elapsed = time.perf_counter() - start
    assert out == tasks
    return len(tasks) / elapsed


def run_executor(executor, tasks):
    start = time.perf_counter()
    out = list(executor.map(echo, tasks, chunksize=1))
    elapsed = time.perf_counter() - start
    assert out == tasks
    return len(tasks) / elapsed


def main(argv):
    n, rounds, workers = (int(a) for a in argv[:3])
    tasks = [b"task-%d" % i for i in range(n)]
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(workers) as pool:
        pool.map(echo, tasks[:1000], chunksize=1)
        for _ in range(rounds):
            print("multiprocessing.Pool.map %.1f" % run_mp(pool, tasks), flush=True)
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=ctx) as executor:
        list(executor.map(echo, tasks[:1000], chunksize=1))
        for _ in range(rounds):
            print("ProcessPoolExecutor.map %.1f" % run_executor(executor, tasks), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
