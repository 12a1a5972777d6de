#!/usr/bin/env python3
"""Load a kconv weights file (model.json) into PyTorch, to carry on where kconv stops.

    python3 examples/load_into_torch.py model.json                 # build the torch model, print it
    python3 examples/load_into_torch.py model.json val.csv         # ... and report its accuracy on a labelled CSV

kconv writes every weight array flat, in PyTorch's own layouts (conv [out, in, k, k],
dense [out, in], flatten in C, H, W order), so each layer loads by a reshape. Batch
normalization loads into BatchNorm2d (after a conv) or BatchNorm1d (after a dense layer)
with its running statistics; a conv or dense layer right before it has no bias
(bias=False), as in kconv. The network's input is (pixel / scale - mean) / std and a
softmax follows its last layer; `KconvModel` below does both around an nn.Sequential of
logits (use `.net` with nn.CrossEntropyLoss to keep training). Needs torch and numpy
(tested with torch 1.13). Reads weights-file versions 1 and 2.
"""
import csv
import json
import sys

import numpy as np
import torch
from torch import nn


def tensor(values, shape=None):
    t = torch.tensor(values, dtype=torch.float32)
    return t if shape is None else t.reshape(shape)


def build_layers(layers):
    """nn.Sequential of the weights file's layers, weights copied in (outputs logits)."""
    modules = []
    image = True  # whether the current layer's input is C x H x W (else a flat vector)
    for i, layer in enumerate(layers, 1):
        kind = layer["type"]
        bias = "bias" in layer  # absent on a conv or dense layer right before batch normalization
        if kind == "conv2d":
            k = layer["kernel"]
            m = nn.Conv2d(layer["inChannels"], layer["outChannels"], k, stride=layer["stride"], padding=layer["padding"], bias=bias)
            shape = (layer["outChannels"], layer["inChannels"], k, k)
        elif kind == "dense":
            m = nn.Linear(layer["inFeatures"], layer["outFeatures"], bias=bias)
            shape = (layer["outFeatures"], layer["inFeatures"])
            image = False
        elif kind == "batchnorm":
            # Per channel over N*H*W after a conv, per feature over N after a dense layer.
            bn = nn.BatchNorm2d if image else nn.BatchNorm1d
            m = bn(layer["features"], eps=layer["eps"], momentum=layer["momentum"])
            with torch.no_grad():
                m.weight.copy_(tensor(layer["weight"]))
                m.bias.copy_(tensor(layer["bias"]))
                m.running_mean.copy_(tensor(layer["runningMean"]))
                m.running_var.copy_(tensor(layer["runningVar"]))
        elif kind == "relu":
            m = nn.ReLU()
        elif kind == "maxpool2d":
            m = nn.MaxPool2d(layer["size"], stride=layer.get("stride", layer["size"]))
        elif kind == "avgpool2d":
            m = nn.AvgPool2d(layer["size"], stride=layer.get("stride", layer["size"]))
        elif kind == "globalavgpool":
            m = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())  # C x H x W -> C
            image = False
        elif kind == "flatten":
            m = nn.Flatten()  # [N, C, H, W] -> [N, C*H*W], C, H, W order as kconv
            image = False
        elif kind == "dropout":
            m = nn.Dropout(layer["rate"])
        else:
            raise ValueError(f"layer {i}: unknown layer type {kind!r}")
        if kind in ("conv2d", "dense"):
            with torch.no_grad():
                m.weight.copy_(tensor(layer["weight"], shape))
                if bias:
                    m.bias.copy_(tensor(layer["bias"]))
        modules.append(m)
    return nn.Sequential(*modules)


class KconvModel(nn.Module):
    """Raw pixels 0..255 [N, 1, 28, 28] -> softmax probabilities [N, 10], as `kconv predict`."""

    def __init__(self, doc):
        super().__init__()
        inp = doc["input"]
        self.scale, self.mean, self.std = float(inp["scale"]), float(inp["mean"]), float(inp["std"])
        self.net = build_layers(doc["layers"])

    def preprocess(self, pixels):
        return (pixels / self.scale - self.mean) / self.std

    def forward(self, pixels):
        return torch.softmax(self.net(self.preprocess(pixels)), dim=1)


def load_kconv(path):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    if doc.get("format") != "kconv-model" or doc.get("version") not in (1, 2):
        raise ValueError(f"{path}: not a kconv weights file of version 1 or 2")
    return KconvModel(doc).eval()  # eval(): dropout off and batch normalization by its running statistics, as when kconv predicts


def read_csv(path):
    """Pixels as float32 [N, 1, 28, 28] and labels (or None) from a Kaggle-format CSV."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        header = next(csv.reader(f))
    rows = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float32, ndmin=2)
    pixels = rows[:, [header.index(f"pixel{i}") for i in range(784)]].reshape(-1, 1, 28, 28)
    labels = rows[:, header.index("label")].astype(np.int64) if "label" in header else None
    return torch.from_numpy(np.ascontiguousarray(pixels)), labels


def main(argv):
    if len(argv) not in (2, 3):
        sys.exit(__doc__)
    model = load_kconv(argv[1])
    print(model.net)
    if len(argv) == 3:
        pixels, labels = read_csv(argv[2])
        with torch.no_grad():
            predicted = model(pixels).argmax(dim=1).numpy()
        if labels is None:
            print(f"{argv[2]}: {len(predicted)} images classified (no label column, so no accuracy)")
        else:
            correct = int((predicted == labels).sum())
            print(f"{argv[2]}: accuracy {100 * correct / len(labels):.2f}% ({correct} of {len(labels)})")


if __name__ == "__main__":
    main(sys.argv)
