#!/usr/bin/env python3
"""Convert dlib's face descriptor ResNet to ONNX, so it can run without dlib's slow PyPI build.

Usage: python models/convert/convert_dlib_resnet.py [--out models/dlib_face_recognition_resnet_model_v1.onnx]

Why: the PyPI build of dlib (dlib-bin) has no BLAS, and its ResNet takes ~115 ms per face
chip on one core here; the same network as ONNX takes ~12 ms in OpenCV's DNN module and
~4 ms in ONNX Runtime, which imagegate uses (BENCHMARKS.md).
The numbers it computes are the same (max abs difference ~4e-7 on real chips; the
test suite compares the two on every run).

How, with nothing but PyPI and a C++ compiler:
1. `pip download dlib==20.0.0` (the source distribution) and compile `dlib_dump.cpp`
   against it; dlib's own deserialiser reads the .dat from face_recognition_models 0.3.0
   and dumps the architecture and every layer's parameters.
2. This script rebuilds the network layer by layer as an ONNX graph (each affine layer,
   dlib's inference-time batch norm, folded into the convolution before it; dlib's
   zero-padded residual additions as explicit Pad nodes), checks it with onnx's checker
   and writes it. Needs `pip install onnx` (conversion only, not a run-time dependency).
3. Prints the sha256, which must equal models/MANIFEST.json; the output is byte-for-byte
   reproducible.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DLIB_SDIST = "dlib==20.0.0"
DLIB_SDIST_SHA256 = "9ab6a6fe113cc36a20c3f611c57fa6a07f18d1169bd04efb85c32e21b23b7d2b"


def read_params(path):
    """dlib_dump.cpp's parameter file: {layer index: (kind, flat float32 array)}."""
    out = {}
    b = open(path, "rb").read()
    o = 0
    while o < len(b):
        idx, kind, *shape = np.frombuffer(b, np.int64, 6, o).tolist()
        o += 48
        n = int(np.prod(shape))
        out[idx] = (kind, np.frombuffer(b, np.float32, n, o).copy())
        o += 4 * n
    return out


def read_arch(path):
    """dlib's printout of the network: [(layer index, layer name, {setting: value}, line)]."""
    layers = []
    for line in open(path):
        m = re.match(r"layer<(\d+)>\s+(\S+?)(?:\s|\(|$)(.*)", line.rstrip("\n"))
        if not m:
            continue
        idx, name, rest = int(m.group(1)), m.group(2), m.group(3)
        kv = dict((k, float(v)) for k, v in re.findall(r"(\w+)=([-\d.]+)", rest))
        layers.append((idx, name, kv, line))
    return layers


def build(arch_path, params_path, out_path):
    """Rebuild the network as ONNX, from the input layer up (dlib numbers layers from the loss down),
    tracking each tensor's shape so dlib's size-mismatched additions can be padded explicitly."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    layers = read_arch(arch_path)
    params = read_params(params_path)
    nodes, inits = [], []
    counter = [0]

    def name(prefix):
        counter[0] += 1
        return f"{prefix}{counter[0]}"

    def const(arr, prefix="c"):
        n = name(prefix)
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), n))
        return n

    # input: N x 3 x 150 x 150 RGB in 0..255, as float32
    x = "chips"
    shape = [3, 150, 150]  # C, H, W
    tags = {}
    convs = []
    last_conv = None
    for idx, lname, kv, line in sorted(layers, key=lambda t: -t[0]):
        if lname.startswith("input_rgb_image_sized"):
            means = [float(v) for v in re.search(r"\(([^)]*)\)", line).group(1).split(",")]
            y = name("t")
            nodes.append(helper.make_node("Sub", [x, const(np.array(means, np.float32).reshape(1, 3, 1, 1))], [y]))
            z = name("t")
            nodes.append(helper.make_node("Mul", [y, const(np.array([1 / 256.0], np.float32))], [z]))
            x = z
        elif lname == "con":
            k = int(kv["num_filters"])
            kh, kw = int(kv["nr"]), int(kv["nc"])
            sy, sx = int(kv["stride_y"]), int(kv["stride_x"])
            py, px = int(kv["padding_y"]), int(kv["padding_x"])
            kind, p = params[idx]
            assert kind == 0
            cin = shape[0]
            nw = k * cin * kh * kw
            assert p.size == nw + k, (idx, p.size, nw, k)
            w = p[:nw].reshape(k, cin, kh, kw)
            b = p[nw:]
            y = name("t")
            wn, bn = name("w"), name("b")
            node = helper.make_node("Conv", [x, wn, bn], [y], kernel_shape=[kh, kw], strides=[sy, sx],
                                    pads=[py, px, py, px])
            nodes.append(node)
            last_conv = {"w": w.copy(), "b": b.copy(), "wn": wn, "bn": bn, "node": node}
            convs.append(last_conv)
            x = y
            shape = [k, (shape[1] + 2 * py - kh) // sy + 1, (shape[2] + 2 * px - kw) // sx + 1]
        elif lname == "affine":
            kind, p = params[idx]
            assert kind == 1 and p.size == 2 * shape[0]
            g, be = p[: shape[0]], p[shape[0]:]
            # the affine layer always follows a convolution here: fold it into the weights
            assert last_conv is not None and nodes[-1] is last_conv["node"], line
            last_conv["w"] = last_conv["w"] * g.reshape(-1, 1, 1, 1)
            last_conv["b"] = last_conv["b"] * g + be
        elif lname == "relu":
            y = name("t")
            nodes.append(helper.make_node("Relu", [x], [y]))
            x = y
        elif lname in ("max_pool", "avg_pool"):
            kh, kw = int(kv["nr"]), int(kv["nc"])
            y = name("t")
            if kh == 0 and kw == 0:
                nodes.append(helper.make_node("GlobalAveragePool", [x], [y]))
                shape = [shape[0], 1, 1]
            else:
                sy, sx = int(kv["stride_y"]), int(kv["stride_x"])
                py, px = int(kv["padding_y"]), int(kv["padding_x"])
                op = "MaxPool" if lname == "max_pool" else "AveragePool"
                nodes.append(helper.make_node(op, [x], [y], kernel_shape=[kh, kw], strides=[sy, sx],
                                              pads=[py, px, py, px]))
                shape = [shape[0], (shape[1] + 2 * py - kh) // sy + 1, (shape[2] + 2 * px - kw) // sx + 1]
            x = y
        elif lname.startswith("tag"):
            tags[lname[3:]] = (x, list(shape))
        elif lname.startswith("skip"):
            x, shape = tags[lname[4:]]
            shape = list(shape)
        elif lname.startswith("add_prev"):
            other, oshape = tags[lname[8:]]
            # dlib adds tensors of different sizes by zero-padding the smaller at the end
            full = [max(a, b) for a, b in zip(shape, oshape)]

            def pad(t, s):
                if s == full:
                    return t
                y = name("t")
                pads = [0, 0, 0, 0, 0, full[0] - s[0], full[1] - s[1], full[2] - s[2]]
                nodes.append(helper.make_node("Pad", [t, const(np.array(pads, np.int64))], [y], mode="constant"))
                return y

            a, b = pad(x, shape), pad(other, oshape)
            y = name("t")
            nodes.append(helper.make_node("Add", [a, b], [y]))
            x, shape = y, full
        elif lname == "fc_no_bias":
            kind, p = params[idx]
            n_out = int(kv["num_outputs"])
            w = p.reshape(-1, n_out)
            assert w.shape[0] == shape[0] * shape[1] * shape[2]
            y = name("t")
            nodes.append(helper.make_node("Flatten", [x], [y], axis=1))
            z = name("t")
            nodes.append(helper.make_node("MatMul", [y, const(w)], [z]))
            x = z
            shape = [n_out]
        elif lname == "loss_metric":
            pass
        else:
            raise SystemExit(f"unsupported layer: {line}")
    assert shape == [128], shape
    for c in convs:
        inits.append(numpy_helper.from_array(c["w"].astype(np.float32), c["wn"]))
        inits.append(numpy_helper.from_array(c["b"].astype(np.float32), c["bn"]))
    nodes.append(helper.make_node("Identity", [x], ["descriptors"]))
    graph = helper.make_graph(
        nodes, "dlib_face_recognition_resnet_model_v1",
        [helper.make_tensor_value_info("chips", TensorProto.FLOAT, ["n", 3, 150, 150])],
        [helper.make_tensor_value_info("descriptors", TensorProto.FLOAT, ["n", 128])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="imagegate models/convert_dlib_resnet.py")
    model.ir_version = 7
    onnx.checker.check_model(model)
    onnx.save(model, out_path)


def dump(workdir: Path, dat: Path) -> tuple[Path, Path]:
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                    "-d", str(workdir), DLIB_SDIST], check=True)
    sdist = next(workdir.glob("dlib-*.tar.gz"))
    digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
    if digest != DLIB_SDIST_SHA256:
        raise SystemExit(f"{sdist.name}: sha256 {digest}, expected {DLIB_SDIST_SHA256}")
    with tarfile.open(sdist) as tf:
        tf.extractall(workdir, filter="data")
    src = next(p for p in workdir.iterdir() if p.is_dir() and p.name.startswith("dlib-"))
    exe = workdir / "dlib_dump"
    print("compiling dlib (a minute or two) ...", flush=True)
    subprocess.run(["g++", "-O1", "-std=c++17", "-DDLIB_NO_GUI_SUPPORT", "-DDLIB_DISABLE_ASSERTS",
                    "-I", str(src), str(HERE / "dlib_dump.cpp"), str(src / "dlib" / "all" / "source.cpp"),
                    "-lpthread", "-o", str(exe)], check=True)
    arch, params = workdir / "arch.txt", workdir / "params.bin"
    with arch.open("w") as fh:
        subprocess.run([str(exe), str(dat), str(params)], check=True, stdout=fh)
    return arch, params


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE.parent / "dlib_face_recognition_resnet_model_v1.onnx")
    args = ap.parse_args()
    try:
        import face_recognition_models
        import onnx  # noqa: F401 - needed by build(); fail before the slow download and compile
    except ImportError as exc:
        raise SystemExit(f"{exc.name} is needed for the conversion: pip install onnx face_recognition_models")

    dat = Path(face_recognition_models.face_recognition_model_location())
    with tempfile.TemporaryDirectory() as tmp:
        arch, params = dump(Path(tmp), dat)
        build(arch, params, args.out)
    print(f"wrote {args.out} sha256 {hashlib.sha256(args.out.read_bytes()).hexdigest()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
