"""Task value types: the legacy ``Types`` members, Python hints, and JSON literals.

One ``LiteralType`` describes an input or output.  Values cross process
boundaries (CLI -> run dir -> entrypoint -> outputs) as JSON "literals", so
conversion lives here once instead of in every engine.
"""

from podtask._types.convert import from_literal, parse_cli_value, to_literal
from podtask._types.model import Directory, LiteralType, Types, type_from_hint

__all__ = [
    "Directory",
    "LiteralType",
    "Types",
    "from_literal",
    "parse_cli_value",
    "to_literal",
    "type_from_hint",
]
