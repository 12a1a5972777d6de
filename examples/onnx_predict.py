#!/usr/bin/env python3
"""Classify a Kaggle-format Kannada-MNIST CSV with a model exported by `kconv export --onnx`.

    pip install onnxruntime numpy
    kconv export model.json --onnx model.onnx
    python3 examples/onnx_predict.py model.onnx test.csv > submission.csv

Writes `id,label` (the Kaggle submission format) to stdout; when the CSV has labels, the
accuracy goes to stderr. The graph does kconv's preprocessing itself: feed it raw pixel
values 0..255 as float32 [N, 1, 28, 28] under the name "pixels"; it returns "probabilities",
float32 [N, 10].

Checked with onnxruntime 1.30.0 from pip (`pip install onnxruntime==1.30.0 numpy`): on
val.csv it gives the same accuracy as `kconv evaluate`. The graph itself is tested in
kconv's test suite with onnxruntime-node.
"""
import csv
import signal
import sys

import numpy as np
import onnxruntime as ort


def main(model_path, csv_path):
    with open(csv_path, newline="", encoding="utf-8-sig") as f:
        header = next(csv.reader(f))
    rows = np.loadtxt(csv_path, delimiter=",", skiprows=1, dtype=np.float32, ndmin=2)
    pixels = rows[:, [header.index(f"pixel{i}") for i in range(784)]].reshape(-1, 1, 28, 28)
    ids = rows[:, header.index("id")].astype(np.int64) if "id" in header else np.arange(len(rows))

    session = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    (probs,) = session.run(["probabilities"], {"pixels": np.ascontiguousarray(pixels)})
    labels = probs.argmax(axis=1)

    print("id,label")
    for i, label in zip(ids, labels):
        print(f"{i},{label}")
    if "label" in header:
        truth = rows[:, header.index("label")].astype(np.int64)
        correct = int((labels == truth).sum())
        print(f"{csv_path}: accuracy {100 * correct / len(truth):.2f}% ({correct} of {len(truth)})", file=sys.stderr)


if __name__ == "__main__":
    # A closed pipe (`… | head`) ends the script quietly, as it ends other Unix tools.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
