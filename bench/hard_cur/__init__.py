"""The hard bench month: a CUR 2.0 export at least as hard to load as a real one.

Not the demo's generator (`costalloc.demo.aws_cur`), which stays the bench's "old" case. This
one is modelled on what AWS Data Exports deliver for a mid-size organization: 83 columns with
the `product`, `resource_tags`, `cost_category` and `discount` MAP columns; 40 linked accounts;
67 product codes and 96 usage types in six regions; 19 line item types; per-row tags with three
keys in mixed spellings (`env` / `Env` / `environment`, `prod` / `Prod` / `production` / `prd`,
`team`, `project`) including a project worth capitalizing; money as doubles whose shortest text
is the intended decimal. `catalogue` holds the vocabulary, `rows` makes a batch, `export`
writes the parts and the manifest.
"""

from bench.hard_cur.export import WrittenMonth, write_month

__all__ = ["WrittenMonth", "write_month"]
