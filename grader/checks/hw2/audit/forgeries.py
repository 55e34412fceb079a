"""Submissions that do no work, or dress a bug up, and try to collect points anyway (issue 14).

Each is written by a student who knows the grader's source: functions that compute nothing (return 0.0, [],
{}), plus one way of making checks believe otherwise: records written onto the grader's reference models
(the ``calls`` lists the mode checks used to read), or the grader's ``named_parameters`` probe replaced in the
worker. The do-nothing ones must get no points in their step; the correct solution with a bug and the records
or the probe forged must lose its points as the bare bug does.
"""

from __future__ import annotations

from pathlib import Path

from grader.audit import Edit, Variant

_SOLUTION = Path(__file__).resolve().parents[4] / "solutions" / "hw2"


def _file(name: str, text: str) -> Edit:
    """Replace the solution's ``name`` with ``text``."""
    return Edit(name, (_SOLUTION / name).read_text(encoding="utf-8"), text)


TRAIN = '''"""Step 3 (Training), with nothing done."""


def train_one_epoch(model, loader, loss_fn, optimizer, device="cpu", max_grad_norm=None):
    return 0.0


def train(model, train_loader, loss_fn, optimizer, epochs, device="cpu", max_grad_norm=None):
    return [0.0] * epochs
'''

#: The forwards the grader's recording model used to count (three batches, in train mode, with gradients).
TRAIN_RECORDS = TRAIN.replace("    return 0.0\n", "    model.calls = [(True, True, 4)] * 3\n    return 0.0\n")

EVALUATE = '''"""Step 4 (Evaluation), with nothing done."""


def predict(model, loader, device="cpu"):
    return []


def evaluate(model, loader, device="cpu"):
    return {}
'''

_RECORD = "    model.calls = [(False, False, 4)] * 3\n"
EVALUATE_RECORDS = EVALUATE.replace("    return []\n", _RECORD + "    return []\n").replace(
    "    return {}\n", _RECORD + "    return {}\n"
)

FORGED_STEPS: tuple[Variant, ...] = (
    Variant(
        "forge-train-nothing",
        "train",
        (_file("train.py", TRAIN),),
        "train_one_epoch returns 0.0 and train [0.0] * epochs: nothing raises, nothing is trained",
    ),
    Variant(
        "forge-train-records",
        "train",
        (_file("train.py", TRAIN_RECORDS),),
        "trains nothing; writes model.calls (one train-mode forward per batch) onto the grader's model",
    ),
    Variant(
        "forge-evaluate-nothing",
        "evaluate",
        (_file("evaluate.py", EVALUATE),),
        "predict returns [] and evaluate {}: nothing raises, nothing is predicted",
    ),
    Variant(
        "forge-evaluate-records",
        "evaluate",
        (_file("evaluate.py", EVALUATE_RECORDS),),
        "predicts nothing; writes model.calls (eval-mode forwards without gradients) onto the grader's model",
    ),
)

#: The bug "never calls model.train()", with the records of a train-mode epoch written over the real ones.
TRAIN_MODE_FORGED = Variant(
    "train-no-train-mode-records-forged",
    "train",
    (
        Edit(
            "train.py",
            "    model.train()\n    total_loss, n_samples = 0.0, 0\n",
            "    total_loss, n_samples = 0.0, 0\n",
        ),
        Edit(
            "train.py",
            "    return total_loss / n_samples\n",
            "    model.calls = [(True, True, len(labels))] * len(loader)\n    return total_loss / n_samples\n",
        ),
    ),
    "never calls model.train(); rewrites model.calls to say every forward ran in train mode",
)

#: The bugs "no model.eval()" and "no torch.no_grad()", with eval-mode records written over the real ones.
EVAL_MODE_FORGED = Variant(
    "predict-train-mode-with-gradients-records-forged",
    "evaluate",
    (
        Edit(
            "evaluate.py",
            "    model.eval()\n"
            "    predictions: list[int] = []\n"
            "    labels: list[int] = []\n"
            "    with torch.no_grad():\n"
            "        for batch in loader:\n"
            "            batch = {key: value.to(device) for key, value in batch.items()}\n"
            '            gold = batch.pop("labels")\n'
            "            output = model(**batch)\n"
            "            predictions.extend(output.argmax(dim=1).tolist())\n"
            "            labels.extend(gold.tolist())\n",
            "    predictions: list[int] = []\n"
            "    labels: list[int] = []\n"
            "    for batch in loader:\n"
            "        batch = {key: value.to(device) for key, value in batch.items()}\n"
            '        gold = batch.pop("labels")\n'
            "        output = model(**batch)\n"
            "        predictions.extend(output.argmax(dim=1).tolist())\n"
            "        labels.extend(gold.tolist())\n"
            "    model.calls = [(False, False, 4)] * len(loader)\n",
        ),
    ),
    "runs the model in train mode with gradients; rewrites model.calls to say eval mode under no_grad",
)

#: The grader's named_parameters probe, replaced in the worker to report what the student wants (issue 14).
_TAMPER = """

import grader.probes.hw2.model as _probe

_reported = _probe.named_parameters
"""

_LISTED = (
    _TAMPER
    + """

def _listed(model):
    layers = getattr(model, "layers", None)
    if not isinstance(layers, list):
        return _reported(model)
    return {
        f"layers.{i}.{name}": param.detach().cpu().clone()
        for i, layer in enumerate(layers)
        for name, param in layer.named_parameters()
    }


_probe.named_parameters = _listed
"""
)

_ZEROED = (
    _TAMPER
    + """

def _zeroed(model):
    params = _reported(model)
    if "embedding.weight" in params:
        params["embedding.weight"][0] = 0
    return params


_probe.named_parameters = _zeroed
"""
)

_LAYERS = (
    "        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=0)\n"
    "        self.classifier = nn.Linear(embed_dim, num_classes)\n"
)

MODEL_FORGED: tuple[Variant, ...] = (
    Variant(
        "layers-in-plain-list-probe-tampered",
        "model",
        (
            Edit(
                "model.py",
                _LAYERS,
                "        self.layers = [\n"
                "            nn.Embedding(vocab_size, embed_dim, padding_idx=0),\n"
                "            nn.Linear(embed_dim, num_classes),\n"
                "        ]\n",
            ),
            Edit(
                "model.py",
                "        pooled = masked_mean(self.embedding(input_ids), attention_mask)\n"
                "        return self.classifier(pooled)\n",
                "        pooled = masked_mean(self.layers[0](input_ids), attention_mask)\n"
                "        return self.layers[1](pooled)\n",
            ),
            Edit("model.py", "\n\nclass TextClassifier(", _LISTED + "\n\nclass TextClassifier("),
        ),
        "layers in a plain list (never registered); the named_parameters probe replaced to report them",
    ),
    Variant(
        "embedding-without-padding-idx-probe-tampered",
        "model",
        (
            Edit(
                "model.py",
                "        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=0)\n",
                "        self.embedding = nn.Embedding(vocab_size, embed_dim)\n",
            ),
            Edit("model.py", "\n\nclass TextClassifier(", _ZEROED + "\n\nclass TextClassifier("),
        ),
        "no padding_idx; the named_parameters probe replaced to report the embedding's row 0 as zeros",
    ),
)
