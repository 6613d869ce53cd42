"""Turning results (numpy/torch scalars and arrays, dataclasses, paths) into plain JSON types.

Shared by the metrics report, the notebooks' ``results.json`` and the report index.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

__all__ = ["to_jsonable"]


def to_jsonable(obj: Any) -> Any:
    """Convert numpy/torch scalars and arrays, paths and dataclasses to JSON types (NaN/inf -> None).

    Example:
        >>> import numpy as np
        >>> to_jsonable({"a": np.float32(0.5), "b": np.arange(2), "c": float("nan")})
        {'a': 0.5, 'b': [0, 1], 'c': None}
    """
    import dataclasses

    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return to_jsonable(dataclasses.asdict(obj))
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "detach") and hasattr(obj, "cpu"):  # torch tensor
        obj = obj.detach().cpu().numpy()
    if hasattr(obj, "tolist"):  # numpy array or scalar
        return to_jsonable(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj
