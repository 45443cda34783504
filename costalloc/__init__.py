"""costalloc: cloud billing exports → FOCUS line items in DuckDB → allocated cost.

The subpackages live in the repository's root folders (`flows/`, `connectors/`, `allocation/`,
`sql/`, …) and install under this one name: `pyproject.toml`'s `package-dir` maps each folder
to `costalloc.<folder>`, so an environment gains exactly one top-level package.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("costalloc")
except PackageNotFoundError:  # imported from a checkout that was never installed
    __version__ = "0+unknown"
