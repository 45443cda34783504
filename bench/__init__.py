"""`make bench`: how fast and how lean costalloc is, next to the floor and the peer.

Each measured thing runs as a whole process under `/usr/bin/time -v`: a bare DuckDB script
(the floor for this machine), costalloc's CLI end to end, and the FinOps Foundation's
focus_converters. Data comes from the project's own generator (`demo.aws_cur`), written once
under `bench/data/` and reused. Results go to `bench/results/latest.json`.
"""
