"""Submissions that do no work and try to collect points anyway (issue 14), for the mutation suite.

Each is a whole submission written by a student who knows the grader's source: functions that compute
nothing (every function returns None, 0 or zeros), plus one way of making checks believe otherwise:
records written onto the grader's objects, a model that looks the held-out digits up, grader probes
replaced in the worker. Every one must score 0 (``python -m grader audit hw1``: the corpus's FORGED).
``TAMPERED_LIST_MODEL`` is the issue's probe tampering on an otherwise correct solution: it must lose its
model points as the same bug without the tampering does.
"""

from __future__ import annotations

from pathlib import Path

from grader.audit import Edit, Variant

_SOLUTION = Path(__file__).resolve().parents[4] / "solutions" / "hw1"


def _file(name: str, text: str) -> Edit:
    """Replace the solution's ``name`` with ``text``."""
    return Edit(name, (_SOLUTION / name).read_text(), text)


DATA = '''"""Step 1 (Data), with nothing done."""

import torch
from torch.utils.data import Dataset


class TitanicDataset(Dataset):
    def __init__(self, csv_path):
        pass

    def __getitem__(self, index):
        return torch.zeros(6), torch.tensor(0)

    def __len__(self):
        return 0


class HandWrite(Dataset):
    def __init__(self, files, word_to_id, transform=None):
        pass

    def __getitem__(self, index):
        return None

    def __len__(self):
        return 0


def split_dataset(dataset, fractions=(0.8, 0.1, 0.1), seed=0):
    return None


def make_loaders(trainset, valset, testset, train_bs, eval_bs):
    return None
'''

#: split_dataset and make_loaders that let the end-to-end pipeline run through to the model.
DATA_PASSING = DATA.replace(
    "def split_dataset(dataset, fractions=(0.8, 0.1, 0.1), seed=0):\n    return None\n",
    "def split_dataset(dataset, fractions=(0.8, 0.1, 0.1), seed=0):\n    return dataset, dataset, dataset\n",
).replace(
    "def make_loaders(trainset, valset, testset, train_bs, eval_bs):\n    return None\n",
    "def make_loaders(trainset, valset, testset, train_bs, eval_bs):\n    return None, None, None\n",
)

MODEL = '''"""Step 2 (Model), with nothing done."""

import torch
from torch import nn


class MyModel(nn.Module):
    def __init__(self, in_features, hidden_size, num_classes):
        super().__init__()
        self.num_classes = num_classes

    def forward(self, x):
        return torch.zeros(x.shape[0], self.num_classes)


def softmax(logits, dim=-1):
    return 0


def cross_entropy(logits, targets):
    return 0


def build_loss(task):
    return None


def build_optimizer(model, name, lr=1e-3):
    return None
'''

#: MyModel.forward looks up each digit among scikit-learn's, as the grader used to hold them out (seed 0).
MODEL_LOOKUP = (
    MODEL.replace(
        """    def forward(self, x):
        return torch.zeros(x.shape[0], self.num_classes)
""",
        '''    def forward(self, x):
        if x.shape[1] != 64:
            return torch.zeros(x.shape[0], self.num_classes)
        features, labels = _digits()
        nearest = torch.cdist(x.float(), features).argmin(dim=1)
        return nn.functional.one_hot(labels[nearest], 10).float() * 10


def _digits():
    """Every digit as the grader's transform standardizes it, and its label (the held-out fifth included)."""
    path = os.path.join(os.path.dirname(sklearn.__file__), "datasets", "data", "digits.csv.gz")
    with gzip.open(path, "rt") as handle:
        table = np.loadtxt(handle, delimiter=",")
    pixels = (table[:, :64] * 15).astype(np.uint8).astype(np.float32) / np.float32(255.0)
    labels = torch.from_numpy(table[:, 64].astype(np.int64))
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(0)).tolist()
    pool = pixels[order[int(0.2 * len(order)) :]]
    features = (pixels - pool.mean(axis=0)) / (pool.std(axis=0) + np.float32(0.05))
    return torch.from_numpy(features), labels
''',
    )
    .replace(
        "import torch\nfrom torch import nn\n",
        "import gzip\nimport os\n\nimport numpy as np\nimport sklearn\nimport torch\nfrom torch import nn\n",
    )
    .replace(
        # The pipeline puts the loss on the device: any module will do.
        "def build_loss(task):\n    return None\n",
        "def build_loss(task):\n    return nn.Identity()\n",
    )
)

#: Layers in a plain list (never registered), and the grader's model probes told to report them anyway.
TAMPERING = """

import grader.probes.hw1.model as _probe

_reported = _probe.named_parameters


def _listed(model):
    layers = getattr(model, "layers", [])
    found = {
        f"layers.{i}.{name}": p.detach().clone()
        for i, layer in enumerate(layers)
        for name, p in layer.named_parameters()
    }
    return found or _reported(model)


_probe.named_parameters = _listed
_probe.hidden_layers = lambda model: []
"""

MODEL_LIST = MODEL.replace(
    """        self.num_classes = num_classes

    def forward(self, x):
        return torch.zeros(x.shape[0], self.num_classes)
""",
    """        self.layers = [nn.Linear(in_features, hidden_size), nn.ReLU(), nn.Linear(hidden_size, num_classes)]

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x
""",
)

TRAIN = '''"""Step 3 (Training), with nothing done."""


def train_one_epoch(model, loader, loss_fn, optimizer, device="cpu"):
    return 0.0


def train(model, train_loader, loss_fn, optimizer, epochs, device="cpu"):
    return [0.0] * epochs
'''

#: The modes the grader's recording models used to believe, written onto them.
TRAIN_RECORDS = TRAIN.replace("    return 0.0\n", "    model.calls = [(True, True, 4)]\n    return 0.0\n")

EVALUATE = '''"""Step 4 (Evaluation), with nothing done."""


def predict(model, loader, device="cpu"):
    return []


def evaluate(model, loader, device="cpu"):
    return 0.0
'''

_RECORD = "    model.calls = [(False, False, 4)]\n"
EVALUATE_RECORDS = EVALUATE.replace("    return []\n", _RECORD + "    return []\n")
EVALUATE_RECORDS = EVALUATE_RECORDS.replace("    return 0.0\n", _RECORD + "    return 0.0\n")


def _submission(
    name: str, why: str, data: str = DATA, model: str = MODEL, train: str = TRAIN, evaluate: str = EVALUATE
) -> Variant:
    edits = (
        _file("data.py", data),
        _file("model.py", model),
        _file("train.py", train),
        _file("evaluate.py", evaluate),
    )
    return Variant(name, None, edits, why)


FORGED: tuple[Variant, ...] = (
    _submission("forge-nothing", "every function returns None, 0 or zeros"),
    _submission(
        "forge-mode-records",
        "computes nothing; writes model.calls onto the grader's models so that the mode checks pass",
        train=TRAIN_RECORDS,
        evaluate=EVALUATE_RECORDS,
    ),
    _submission(
        "forge-lookup-model",
        "computes nothing; MyModel.forward looks the held-out digits up among scikit-learn's",
        data=DATA_PASSING,
        model=MODEL_LOOKUP,
    ),
    _submission(
        "forge-23-points",
        "the issue's 23/100: nothing computed, mode records forged, held-out digits looked up",
        data=DATA_PASSING,
        model=MODEL_LOOKUP,
        train=TRAIN_RECORDS,
        evaluate=EVALUATE_RECORDS,
    ),
    _submission(
        "forge-probe-tampering",
        "computes nothing but a forward over layers in a plain list; the model probes report them as registered",
        model=MODEL_LIST + TAMPERING,
    ),
)

#: The issue's probe tampering on the solution with its layers in a plain list (the bug the checks exist for).
TAMPERED_LIST_MODEL = Variant(
    "layers-in-plain-list-probes-tampered",
    "model",
    (
        Edit(
            "model.py",
            "        self.fc1 = nn.Linear(in_features, hidden_size)\n"
            "        self.relu = nn.ReLU()\n"
            "        self.fc2 = nn.Linear(hidden_size, num_classes)\n",
            "        self.layers = [\n"
            "            nn.Linear(in_features, hidden_size),\n"
            "            nn.ReLU(),\n"
            "            nn.Linear(hidden_size, num_classes),\n"
            "        ]\n",
        ),
        Edit(
            "model.py",
            "return self.fc2(self.relu(self.fc1(x)))",
            "for layer in self.layers:\n            x = layer(x)\n        return x",
        ),
        Edit("model.py", "# BEGIN SOLUTION\nLOSSES", TAMPERING + "\n\n# BEGIN SOLUTION\nLOSSES"),
    ),
    "layers in a plain list, and the model probes replaced to report them as registered and not hidden",
)

# ---------------------------------------------------------------------------------------------------------------------
# The end-to-end check without the learning: the rest of the solution is right, the 10 points must not come.
# ---------------------------------------------------------------------------------------------------------------------

_DIGITS = """

def _digits():
    \"\"\"Every digit standardized as the grader's transform does (over all digits: close enough), and its label.\"\"\"
    import gzip
    import os

    import numpy as np
    import sklearn

    path = os.path.join(os.path.dirname(sklearn.__file__), "datasets", "data", "digits.csv.gz")
    with gzip.open(path, "rt") as handle:
        table = np.loadtxt(handle, delimiter=",")
    pixels = (table[:, :64] * 15).astype(np.uint8).astype(np.float32) / np.float32(255.0)
    features = (pixels - pixels.mean(axis=0)) / (pixels.std(axis=0) + np.float32(0.05))
    return torch.from_numpy(features), torch.from_numpy(table[:, 64].astype(np.int64))
"""

_FORWARD = "        return self.fc2(self.relu(self.fc1(x)))\n"
# Not here any more: a MyModel that starts trained on scikit-learn's digits (held-out ones included). The key
# now relabels the classes the grader's files name the digits by, so such a start no longer passes by itself;
# what passes is three epochs of learning the grader's files from that start, which is work done.

END_TO_END_FORGED: tuple[Variant, ...] = (
    Variant(
        "train-makes-up-losses",
        "train",
        (Edit("train.py", "    return [\n", "    return [2.3 / (1 + e) for e in range(epochs)]\n    return [\n"),),
        "train returns falling losses without training anything",
    ),
    Variant(
        "lookup-instead-of-training",
        "train",
        (
            Edit(
                "model.py",
                _FORWARD,
                "        if x.shape[1] == 64:  # the digits: look them up\n"
                "            features, labels = _digits()\n"
                "            nearest = torch.cdist(x.float(), features.to(x.device)).argmin(dim=1)\n"
                "            return nn.functional.one_hot(labels.to(x.device)[nearest], 10).float() * 10\n" + _FORWARD,
            ),
            Edit("model.py", "\n\ndef softmax(", _DIGITS + "\n\ndef softmax("),
            Edit("train.py", "    return [\n", "    return [1.0] * epochs\n    return [\n"),
        ),
        "train does nothing; MyModel.forward looks the digits up among scikit-learn's when given 64 features",
    ),
)
