"""Looking inside task vectors: restrict a merge to some layers, and per-layer statistics.

Separate from :mod:`.methods` because neither merges anything: the statistics feed the
task-vector plots (which layers fine-tuning moved, where members would interfere), and
`restrict_to` selects parameters before any method runs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from itertools import combinations
from typing import Any

import torch

from csbench.errors import MergeError
from csbench.merge.methods import check_compatible


def restrict_to(
    task_vector: Mapping[str, torch.Tensor], include: list[str]
) -> dict[str, torch.Tensor]:
    """Keep only the parameters whose name matches (``re.search``) any pattern in ``include``.

    This is how a merge is restricted to some layers, e.g.
    ``restrict_to(tv, [r"model\\.encoder\\.layers\\.[2-3]\\."])``: restrict every member, merge,
    and add the result to the base. Parameters that were excluded are absent from the merged
    task vector and therefore KEEP THE BASE MODEL'S VALUE (their ΔW is zero), they are not
    taken from any fine-tuned member. Tensors are shared, not copied.

    Raises ValueError for an empty ``include``, an invalid regular expression, or a pattern that
    matches no parameter, since in a config these are typos rather than intentions.
    """
    if not include:
        raise MergeError("restrict_to: 'include' is empty; it would exclude every parameter")
    compiled = []
    for pattern in include:
        try:
            compiled.append(re.compile(pattern))
        except re.error as exc:
            raise MergeError(f"restrict_to: invalid regular expression {pattern!r}: {exc}") from exc
    for regex in compiled:
        if not any(regex.search(key) for key in task_vector):
            raise MergeError(f"restrict_to: pattern {regex.pattern!r} matches no parameter")
    return {k: v for k, v in task_vector.items() if any(r.search(k) for r in compiled)}


_INDEXED_PREFIX = re.compile(r"^(.*?\.\d+)(?:\.|$)")
_PARAM_SUFFIX = re.compile(r"\.(weight|bias)$")
_STATISTICS_CHUNK = 1 << 22


def layer_group(name: str) -> str:
    """The layer a parameter belongs to, for per-layer statistics.

    Names with a numeric component group by the prefix up to the first index
    (``model.encoder.layers.3.self_attn.k_proj.weight`` → ``model.encoder.layers.3``), so all
    sub-modules of a block form one layer. Other names drop the trailing ``.weight``/``.bias``
    and the module name (``model.encoder.conv1.weight`` → ``model.encoder``), pooling the
    stem/embedding/final-norm parameters of each stack; a bare top-level module
    (``proj_out.weight``) is its own group.
    """
    match = _INDEXED_PREFIX.match(name)
    if match:
        return match.group(1)
    stem = _PARAM_SUFFIX.sub("", name)
    head, sep, _ = stem.rpartition(".")
    return head if sep else stem


def layer_statistics(task_vectors: dict[str, dict[str, torch.Tensor]]) -> list[dict[str, Any]]:
    """Per-layer L2 norms of each member and pairwise cosine similarities between members.

    Each layer (see :func:`layer_group`) is treated as one vector: the concatenation of its
    parameters, flattened. Computed in float64. Rows are tidy, all with the same keys, ready
    for ``pandas.DataFrame(rows)``:

    * ``{"layer", "member": m, "member_a": None, "member_b": None, "statistic": "l2_norm",
      "value"}`` for every member;
    * ``{"layer", "member": None, "member_a": a, "member_b": b, "statistic": "cosine",
      "value"}`` for every pair (a before b in the input order); NaN when either is all-zero.

    Layers appear in the order their first parameter appears in the first member. The norms
    show where fine-tuning moved the model; the cosines show where members would interfere.
    """
    members = list(task_vectors)
    vectors = [task_vectors[m] for m in members]
    check_compatible(vectors, [f"member {m!r}" for m in members])
    groups: dict[str, list[str]] = {}
    for key in vectors[0]:
        groups.setdefault(layer_group(key), []).append(key)
    rows: list[dict[str, Any]] = []
    for layer, keys in groups.items():
        n = len(members)
        gram = torch.zeros(n, n, dtype=torch.float64)
        for key in keys:
            flats = [tv[key].reshape(-1) for tv in vectors]
            # Chunked so a 40M-entry embedding never needs N float64 copies at once.
            for start in range(0, flats[0].numel(), _STATISTICS_CHUNK):
                chunk = torch.stack(
                    [f[start : start + _STATISTICS_CHUNK].to(torch.float64) for f in flats]
                )
                gram += chunk @ chunk.T
        norms = gram.diagonal().sqrt()
        for i, member in enumerate(members):
            rows.append(
                {
                    "layer": layer,
                    "member": member,
                    "member_a": None,
                    "member_b": None,
                    "statistic": "l2_norm",
                    "value": float(norms[i]),
                }
            )
        for i, j in combinations(range(n), 2):
            denominator = float(norms[i] * norms[j])
            value = float(gram[i, j]) / denominator if denominator > 0 else math.nan
            rows.append(
                {
                    "layer": layer,
                    "member": None,
                    "member_a": members[i],
                    "member_b": members[j],
                    "statistic": "cosine",
                    "value": value,
                }
            )
    return rows
