"""The neural networks imagegate runs itself (CenterFace, dlib's ResNet), in ONNX Runtime.

Why ONNX Runtime rather than OpenCV's DNN module, which ran them before: on this
2-core machine it ran CenterFace 1.9x and the ResNet 2.2x faster, with the same
outputs to ~1e-5 (BENCHMARKS.md; the tests compare both engines on real photos).

Worker processes share the cores: `set_threads(n)` before any network is loaded
gives each one its share (OpenCV's own threads included). Otherwise the networks use
every core, or `IMAGEGATE_THREADS` threads when that is set.
"""

from __future__ import annotations

import os
import threading

import numpy as np

from ..errors import ConfigError, ModelError
from .modelfiles import ModelFile

_threads: int | None = None


def set_threads(n: int) -> None:
    """Threads for networks loaded from now on, and for OpenCV, in this process."""
    global _threads
    import cv2

    _threads = max(1, int(n))
    cv2.setNumThreads(_threads)


class OnnxNet:
    """One network, loaded once; `run()` is safe to call from several threads (calls are serialised)."""

    def __init__(self, model: ModelFile, what: str) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:  # a broken or partial install: no network can run
            raise ModelError(f"ONNX Runtime, which runs the {what} model, cannot be imported: {exc}",
                             hint="reinstall imagegate (pip install --force-reinstall onnxruntime)") from None

        self.what = what
        opts = ort.SessionOptions()
        opts.log_severity_level = 3  # errors only: its warnings are for model authors, not users
        threads = _threads or _env_threads()
        if threads is not None:
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
        # Every photo has its own size: a memory pattern planned for one shape is waste for the next.
        opts.enable_mem_pattern = False
        try:
            self._session = ort.InferenceSession(str(model.path), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - any load failure is a model error
            raise ModelError(f"{what} model {model.path} failed to load: {_first_line(exc)}") from None
        self._input = self._session.get_inputs()[0].name
        self._lock = threading.Lock()

    def run(self, blob: np.ndarray, outputs: list[str] | None = None) -> list[np.ndarray]:
        """The network's outputs (all, or those named) for one N x C x H x W float32 batch."""
        with self._lock:
            try:
                return self._session.run(outputs, {self._input: np.ascontiguousarray(blob, dtype=np.float32)})
            except Exception as exc:  # noqa: BLE001 - any inference failure is a model error
                raise ModelError(f"{self.what} failed on an input of shape {tuple(blob.shape)}: "
                                 f"{_first_line(exc)}") from None


def _env_threads() -> int | None:
    raw = os.environ.get("IMAGEGATE_THREADS", "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"IMAGEGATE_THREADS must be a whole number of threads >= 1, got {raw!r}")
    return int(raw)


def _first_line(exc: Exception) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return lines[0] if lines else type(exc).__name__
