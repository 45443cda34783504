"""Prefect's fixed cost: a flow that does nothing, started the way costalloc's CLI starts one
(ephemeral API, no server configured; the bench gives it the CLI's environment).

    python -m bench.noop
"""

from __future__ import annotations

from prefect import flow


@flow(name="costalloc-bench-noop")
def noop() -> None:
    """Nothing: what remains is Prefect's start, the flow run's bookkeeping and its stop."""


if __name__ == "__main__":
    noop()
