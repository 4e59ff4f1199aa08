"""Flyte interop: export tasks as flyteidl ``TaskSpec``s and speak Flyte's data protocol.

- ``contract``: the primary container's command line under Flyte (placeholders).
- ``types``: podtask ``LiteralType`` <-> flyteidl ``LiteralType``.
- ``template``: a compiled podtask task -> ``TaskSpec`` (what ``pyflyte package`` writes).
- ``package``: ``flyte-package.tgz`` for ``flytectl register files``.
- ``literals``: Python values <-> flyteidl ``Literal`` s (inputs.pb / outputs.pb).

Everything here needs ``podtask[flyte]`` (flyteidl, protobuf >= 4.21); the
modules import flyteidl only inside functions, and say how to install it when
it is missing.
"""
