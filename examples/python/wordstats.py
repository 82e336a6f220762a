#!/usr/bin/env python3
"""A line-mode conductor worker: one sentence in, one line of statistics out.

For each input line it prints: the SHA-256 prefix of the line, its word count,
its character count, and its longest word. Run it under `conductor pool`:

    conductor pool -j 4 -- python3 examples/python/wordstats.py < examples/data/sentences.txt

Line-mode workers must flush each result line (stdout to a pipe is buffered).
"""
import hashlib
import sys


def stats(line: str) -> str:
    words = line.split()
    longest = max(words, key=len) if words else "-"
    digest = hashlib.sha256(line.encode()).hexdigest()[:12]
    return f"{digest} words={len(words)} chars={len(line)} longest={longest}"


def main() -> None:
    for line in sys.stdin:
        sys.stdout.write(stats(line.rstrip("\n")) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
