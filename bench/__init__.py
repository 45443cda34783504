"""`make bench`: how fast and how lean costalloc is, next to the floor and the peer.

Each measured thing runs as a whole process under `/usr/bin/time -v`: a bare DuckDB script
(the floor for this machine), costalloc's CLI end to end, and the FinOps Foundation's
focus_converters. Data comes from two generators — the project's own (`demo.aws_cur`) and the
bench's harder one (`bench.hard_cur`) — written once under `bench/data/` and reused. The cases
are in `bench.plans`, the steps in `bench.cases`; results go to `bench/results/latest.json`.
`make bench-large` (`bench.large`) runs the 100M-line-item month. See docs/performance.md.
"""
