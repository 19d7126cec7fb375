"""Cascaded second-order sections (biquads), filtered in place with the state carried across
blocks: the compiled loop behind `scipy.signal.sosfilt`, without importing `scipy.signal`.

`import scipy.signal` also loads scipy.stats, scipy.optimize, scipy.interpolate and more: about a
second of start-up, longer than measuring a five-minute file, for one loop. That loop lives in its
own extension module (`scipy/signal/_sosfilt`), which is loaded here from its file. Should a scipy
release move or change it, the public `scipy.signal.sosfilt` is used instead: the same result,
only slower to import (tests/analysis/audio/test_filters.py holds the two to the same output).
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

_MODULE = "scipy.signal._sosfilt"
Loop = Callable[[NDArray[Any], NDArray[Any], NDArray[Any]], None]


def _load_compiled() -> Loop | None:
    """scipy's `_sosfilt(sos, x, zi)` (x: signals x samples, zi: signals x sections x 2, both
    C-contiguous, filtered in place), loaded without running scipy.signal's package import."""
    module = sys.modules.get(_MODULE)
    if module is None:
        spec = importlib.util.find_spec("scipy")  # finds the package without importing it
        if spec is None or spec.origin is None:
            return None
        folder = Path(spec.origin).parent / "signal"
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = folder / f"{_MODULE.rsplit('.', 1)[1]}{suffix}"
            if path.is_file():
                break
        else:
            return None
        loader = importlib.machinery.ExtensionFileLoader(_MODULE, str(path))
        found = importlib.util.spec_from_file_location(_MODULE, str(path), loader=loader)
        if found is None:
            return None
        module = importlib.util.module_from_spec(found)
        loader.exec_module(module)
        # Registered under its own name: a later `import scipy.signal` reuses this module
        # instead of initialising the same extension a second time.
        sys.modules[_MODULE] = module
    loop = getattr(module, "_sosfilt", None)
    return loop if callable(loop) else None


def _public(sos: NDArray[Any], x: NDArray[Any], zi: NDArray[Any]) -> None:
    from scipy.signal import sosfilt

    y, z = sosfilt(sos, x, axis=1, zi=np.moveaxis(zi, 1, 0))
    x[...] = y
    zi[...] = np.moveaxis(z, 0, 1)


def _resolve() -> Loop:
    try:
        compiled = _load_compiled()
    except (ImportError, OSError):
        compiled = None
    if compiled is not None and _agrees(compiled):
        return compiled
    return _public


def _agrees(loop: Loop) -> bool:
    """The compiled loop still has the signature and meaning this module expects: one short
    known filtering, compared with a direct evaluation of the difference equations."""
    sos = np.array([[0.5, 0.25, 0.125, 1.0, -0.5, 0.25]], dtype=np.float64)
    x = np.array([[1.0, 0.0, 0.0, 2.0]])
    zi = np.zeros((1, 1, 2))
    try:
        loop(sos, x, zi)
    except (TypeError, ValueError):
        return False
    # y[n] = .5 x[n] + .25 x[n-1] + .125 x[n-2] + .5 y[n-1] - .25 y[n-2]
    expected = [0.5, 0.5, 0.25, 1.0]
    return bool(np.allclose(x[0], expected))


def sosfilt_inplace(sos: NDArray[Any], x: NDArray[Any], zi: NDArray[Any]) -> None:
    """Filter every row of `x` (signals x samples, C-contiguous) in place through the sections
    `sos` (sections x 6, rows b0 b1 b2 a0 a1 a2 with a0 = 1), starting from and updating the
    state `zi` (signals x sections x 2, C-contiguous). All three share one dtype: float32 or
    float64, or complex64 or complex128 (two real signals in one, see KWeightedEnergy)."""
    _LOOP(sos, x, zi)


# Resolved at import: the measuring code is imported before the per-file children are forked,
# so each child starts with the loop loaded.
_LOOP = _resolve()
