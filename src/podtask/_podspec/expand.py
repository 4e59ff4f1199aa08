"""Kubernetes ``$(VAR)`` expansion, shared by every engine that must do it itself.

The kubelet expands ``$(VAR)`` in env values, command and args; podman and
the local engine do not, so podtask does it before handing a pod over.
"""

from __future__ import annotations


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes ``$(VAR)`` expansion: defined names are replaced, ``$$`` escapes, others stay."""
    out: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith("$$", i):
            out.append("$")
            i += 2
            continue
        if text.startswith("$(", i):
            end = text.find(")", i + 2)
            if end != -1 and text[i + 2 : end] in env:
                out.append(env[text[i + 2 : end]])
                i = end + 1
                continue
        out.append(text[i])
        i += 1
    return "".join(out)
