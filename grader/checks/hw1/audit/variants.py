"""hw1's mutation corpus: variants of the reference solution, graded by ``python -m grader audit hw1``.

Staff only: this folder is never shipped (see grader/audit.py).
"""

from __future__ import annotations

import ast
from dataclasses import replace
from pathlib import Path

from grader.audit import Edit, Variant
from grader.checks.hw1.audit import forgeries

_MODEL_SOURCE = (Path(__file__).resolve().parents[4] / "solutions" / "hw1" / "model.py").read_text()


def _top_level(name: str, source: str = _MODEL_SOURCE) -> str:
    """The whole source of top-level function ``name`` of the solution's model.py (to move it elsewhere)."""
    node = next(n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef) and n.name == name)
    lines = source.splitlines(keepends=True)
    return "".join(lines[node.lineno - 1 : node.end_lineno])


# ---------------------------------------------------------------------------------------------------------------------
# Buggy variants: each breaks one clause of the hw1 contract and must lose points in its step.
# ---------------------------------------------------------------------------------------------------------------------

_EVALUATE_BODY = (
    "    predictions, labels = _predict_with_labels(model, loader, device)\n"
    "    return float(accuracy_score(labels, predictions))\n"
)


def _evaluate_loop(eval_mode: bool = True, no_grad: bool = True, move: bool = True) -> str:
    """An ``evaluate`` body with a loop of its own, without one of the things predict gets right."""
    inner = "    " if no_grad else ""
    return (
        ("    model.eval()\n" if eval_mode else "")
        + "    correct = total = 0\n"
        + ("    with torch.no_grad():\n" if no_grad else "")
        + f"{inner}    for x, y in loader:\n"
        + f"{inner}        output = model({'x.to(device)' if move else 'x'})\n"
        + f"{inner}        correct += int((output.argmax(dim=1).cpu() == y).sum())\n"
        + f"{inner}        total += len(y)\n"
        + "    return correct / total\n"
    )


_CROSS_ENTROPY_SOLUTION = (
    "    shifted = logits - logits.max(dim=1, keepdim=True).values\n"
    "    log_probs = shifted - torch.log(torch.exp(shifted).sum(dim=1, keepdim=True))\n"
    "    picked = log_probs.gather(1, targets.long().unsqueeze(1)).squeeze(1)\n"
    "    return -picked.mean()\n"
)

BUGGY: tuple[Variant, ...] = (
    # ---- Step 1 (data) ----------------------------------------------------------------------------------------------
    Variant(
        "sex-mapping-inverted",
        "data",
        (
            Edit(
                "data.py",
                '1.0 if row["Sex"].strip() == "female" else 0.0',
                '1.0 if row["Sex"].strip() == "male" else 0.0',
            ),
        ),
        "encodes male as 1 and female as 0",
    ),
    Variant(
        "empty-age-crashes",
        "data",
        (
            Edit(
                "data.py",
                "return float(cell) if cell.strip() else 0.0",
                "return float(cell)",
            ),
        ),
        "float('') raises ValueError on an empty Age or Fare cell",
    ),
    Variant(
        "empty-age-nan",
        "data",
        (
            Edit(
                "data.py",
                "return float(cell) if cell.strip() else 0.0",
                'return float(cell) if cell.strip() else float("nan")',
            ),
        ),
        "an empty numeric cell becomes nan instead of 0.0",
    ),
    Variant(
        "x-float64",
        "data",
        (
            Edit(
                "data.py",
                "torch.tensor(_features(row), dtype=torch.float32)",
                "torch.tensor(_features(row), dtype=torch.float64)",
            ),
        ),
        "features built as float64 (torch.double) instead of float32",
    ),
    Variant(
        "y-float",
        "data",
        (
            Edit(
                "data.py",
                'torch.tensor(int(row["Survived"]), dtype=torch.int64)',
                'torch.tensor(float(row["Survived"]))',
            ),
        ),
        "label is a float32 tensor instead of int64",
    ),
    Variant(
        "y-python-int",
        "data",
        (
            Edit(
                "data.py",
                'torch.tensor(int(row["Survived"]), dtype=torch.int64)',
                'int(row["Survived"])',
            ),
        ),
        "label is a plain Python int, not a 0-dim int64 tensor",
    ),
    Variant(
        "titanic-len-off-by-one",
        "data",
        (Edit("data.py", "return len(self.samples)", "return len(self.samples) - 1"),),
        "__len__ subtracts one for the header row that DictReader already consumed",
    ),
    Variant(
        "titanic-skips-first-row",
        "data",
        (
            Edit(
                "data.py",
                "rows = list(csv.DictReader(f))",
                "rows = list(csv.DictReader(f))[1:]  # skip the header",
            ),
        ),
        "drops the first data row believing it is the header",
    ),
    Variant(
        "titanic-index-wraps-around",
        "data",
        (
            Edit(
                "data.py",
                "return self.samples[index]",
                "return self.samples[index % len(self.samples)]",
            ),
        ),
        "index modulo len: an index past the end wraps around instead of raising IndexError",
    ),
    Variant(
        "titanic-negative-index-rejected",
        "data",
        (
            Edit(
                "data.py",
                "return self.samples[index]",
                "if not 0 <= index < len(self.samples):\n"
                '            raise IndexError(f"index {index} out of range")\n'
                "        return self.samples[index]",
            ),
        ),
        "raises IndexError for negative indices, which a Python list accepts",
    ),
    Variant(
        "csv-split-on-commas",
        "data",
        (
            Edit(
                "data.py",
                'with open(csv_path, newline="", encoding="utf-8-sig") as f:\n'
                "            rows = list(csv.DictReader(f))",
                'with open(csv_path, encoding="utf-8-sig") as f:\n'
                "            lines = f.read().splitlines()\n"
                '        header = lines[0].split(",")\n'
                '        rows = [dict(zip(header, line.split(","))) for line in lines[1:] if line]',
            ),
        ),
        "parses the CSV with line.split(','), which breaks on the quoted commas in Name",
    ),
    Variant(
        "csv-unpack-split-line",
        "data",
        (
            Edit(
                "data.py",
                'with open(csv_path, newline="", encoding="utf-8-sig") as f:\n'
                "            rows = list(csv.DictReader(f))",
                'with open(csv_path, encoding="utf-8-sig") as f:\n'
                "            lines = f.read().splitlines()[1:]\n"
                "        rows = []\n"
                "        for line in lines:\n"
                '            _, survived, pclass, _, sex, age, sibsp, parch, _, fare, _, _ = line.split(",")\n'
                "            rows.append(\n"
                '                {"Survived": survived, "Pclass": pclass, "Sex": sex, "Age": age, "SibSp": sibsp,'
                ' "Parch": parch, "Fare": fare}\n'
                "            )",
            ),
        ),
        "unpacks line.split(',') into the 12 columns: a quoted comma in Name makes too many values to unpack",
    ),
    Variant(
        "handwrite-global-word-to-id",
        "data",
        (
            Edit(
                "data.py",
                "class HandWrite(Dataset):",
                "word_to_id: dict[str, int] = {}\n\n\nclass HandWrite(Dataset):",
            ),
            Edit(
                "data.py",
                "        # Stored on self: the slide reads a global word_to_id that does not exist here.\n"
                "        self.word_to_id = word_to_id\n",
                "",
            ),
            Edit(
                "data.py",
                "torch.tensor(self.word_to_id[label], dtype=torch.int64)",
                "torch.tensor(word_to_id[label])",
            ),
        ),
        "the slide's slip: word_to_id not stored on self, __getitem__ reads an empty module-level dict",
    ),
    Variant(
        "handwrite-digit-word-to-id",
        "data",
        (
            Edit(
                "data.py",
                "class HandWrite(Dataset):",
                "word_to_id = {str(digit): digit for digit in range(10)}\n\n\nclass HandWrite(Dataset):",
            ),
            Edit(
                "data.py",
                "        # Stored on self: the slide reads a global word_to_id that does not exist here.\n"
                "        self.word_to_id = word_to_id\n",
                "",
            ),
            Edit(
                "data.py",
                "torch.tensor(self.word_to_id[label], dtype=torch.int64)",
                "torch.tensor(word_to_id[label])",
            ),
        ),
        "ignores the word_to_id argument and reads a module-level digits dict from the student's notebook",
    ),
    Variant(
        "handwrite-full-path-split",
        "data",
        (
            Edit(
                "data.py",
                'label = os.path.basename(fname).split("_")[0]',
                'label = str(fname).split("_")[0]',
            ),
        ),
        "splits the whole path on '_' instead of the file name, so the directory leaks into the label",
    ),
    Variant(
        "handwrite-ignores-transform",
        "data",
        (
            Edit(
                "data.py",
                "        if self.transform is not None:\n            image = self.transform(image)\n",
                "",
            ),
        ),
        "stores the transform but never applies it",
    ),
    Variant(
        "split-round",
        "data",
        (
            Edit(
                "data.py",
                "n_train, n_val = int(fractions[0] * n), int(fractions[1] * n)",
                "n_train, n_val = round(fractions[0] * n), round(fractions[1] * n)",
            ),
        ),
        "split sizes with round() instead of int()",
    ),
    Variant(
        "split-overlapping",
        "data",
        (
            Edit(
                "data.py",
                "Subset(dataset, order[n_train + n_val :]),",
                "Subset(dataset, order[n_train:]),",
            ),
        ),
        "the test split starts where val starts, so val and test overlap",
    ),
    Variant(
        "split-unseeded",
        "data",
        (
            Edit(
                "data.py",
                "order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()",
                "order = torch.randperm(n).tolist()",
            ),
        ),
        "shuffles with the global RNG and never uses seed, so the same seed gives different splits",
    ),
    Variant(
        "split-random-split-unseeded",
        "data",
        (
            Edit(
                "data.py",
                "from torch.utils.data import DataLoader, Dataset, Subset\n",
                "from torch.utils.data import DataLoader, Dataset, Subset, random_split\n",
            ),
            Edit(
                "data.py",
                "    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()\n"
                "    return (\n"
                "        Subset(dataset, order[:n_train]),\n"
                "        Subset(dataset, order[n_train : n_train + n_val]),\n"
                "        Subset(dataset, order[n_train + n_val :]),\n"
                "    )\n",
                "    return tuple(random_split(dataset, [n_train, n_val, n - n_train - n_val]))\n",
            ),
        ),
        "random_split without generator=: the split follows the global random state, seed is never used",
    ),
    Variant(
        "split-python-shuffle-unseeded",
        "data",
        (
            Edit("data.py", "import os\n", "import os\nimport random\n"),
            Edit(
                "data.py",
                "    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()\n",
                "    order = list(range(n))\n    random.shuffle(order)\n",
            ),
        ),
        "random.shuffle from Python's global generator: seed is never used",
    ),
    Variant(
        "loaders-val-shuffled",
        "data",
        (
            Edit(
                "data.py",
                "DataLoader(valset, batch_size=eval_bs, shuffle=False)",
                "DataLoader(valset, batch_size=eval_bs, shuffle=True)",
            ),
        ),
        "the validation loader shuffles",
    ),
    Variant(
        "loaders-train-not-shuffled",
        "data",
        (
            Edit(
                "data.py",
                "DataLoader(trainset, batch_size=train_bs, shuffle=True)",
                "DataLoader(trainset, batch_size=train_bs)",
            ),
        ),
        "the training loader does not shuffle",
    ),
    Variant(
        "loaders-batch-sizes-swapped",
        "data",
        (
            Edit(
                "data.py",
                "        DataLoader(trainset, batch_size=train_bs, shuffle=True),\n"
                "        DataLoader(valset, batch_size=eval_bs, shuffle=False),\n"
                "        DataLoader(testset, batch_size=eval_bs, shuffle=False),\n",
                "        DataLoader(trainset, batch_size=eval_bs, shuffle=True),\n"
                "        DataLoader(valset, batch_size=train_bs, shuffle=False),\n"
                "        DataLoader(testset, batch_size=train_bs, shuffle=False),\n",
            ),
        ),
        "train_bs and eval_bs swapped",
    ),
    # ---- Step 2 (model) ---------------------------------------------------------------------------------------------
    Variant(
        "missing-super-init",
        "model",
        (
            Edit(
                "model.py",
                "        # Without this call nn.Module has no registry to record the layers in.\n"
                "        super().__init__()\n",
                "",
            ),
        ),
        "forgets super().__init__(), so nn.Module cannot register the layers",
    ),
    Variant(
        "layers-in-plain-list",
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
        ),
        "layers kept in a plain Python list, so their parameters are not registered",
    ),
    Variant(
        "missing-relu",
        "model",
        (Edit("model.py", "return self.fc2(self.relu(self.fc1(x)))", "return self.fc2(self.fc1(x))"),),
        "defines the ReLU but never applies it: Linear -> Linear",
    ),
    Variant(
        "hidden-size-hardcoded",
        "model",
        (
            Edit(
                "model.py",
                "        self.fc1 = nn.Linear(in_features, hidden_size)\n"
                "        self.relu = nn.ReLU()\n"
                "        self.fc2 = nn.Linear(hidden_size, num_classes)\n",
                "        self.fc1 = nn.Linear(in_features, 128)\n"
                "        self.relu = nn.ReLU()\n"
                "        self.fc2 = nn.Linear(128, num_classes)\n",
            ),
        ),
        "hidden layer width hard-coded to 128, ignoring hidden_size",
    ),
    Variant(
        "softmax-in-forward",
        "model",
        (
            Edit(
                "model.py",
                "return self.fc2(self.relu(self.fc1(x)))",
                "return softmax(self.fc2(self.relu(self.fc1(x))), dim=1)",
            ),
        ),
        "forward returns probabilities instead of logits",
    ),
    Variant(
        "softmax-unstable",
        "model",
        (
            Edit(
                "model.py",
                "    shifted = logits - logits.max(dim=dim, keepdim=True).values\n    exps = torch.exp(shifted)\n",
                "    exps = torch.exp(logits)\n",
            ),
        ),
        "softmax without subtracting the max: exp overflows to inf/nan for large logits",
    ),
    Variant(
        "softmax-dim-0",
        "model",
        (
            Edit(
                "model.py",
                "    shifted = logits - logits.max(dim=dim, keepdim=True).values\n"
                "    exps = torch.exp(shifted)\n"
                "    return exps / exps.sum(dim=dim, keepdim=True)\n",
                "    shifted = logits - logits.max(dim=0, keepdim=True).values\n"
                "    exps = torch.exp(shifted)\n"
                "    return exps / exps.sum(dim=0, keepdim=True)\n",
            ),
        ),
        "softmax always normalises over dim 0, ignoring dim (right for 1-D input only)",
    ),
    Variant(
        "cross-entropy-summed",
        "model",
        (Edit("model.py", "return -picked.mean()", "return -picked.sum()"),),
        "cross_entropy sums over the batch instead of averaging",
    ),
    Variant(
        "cross-entropy-builtin",
        "model",
        (
            Edit(
                "model.py",
                "    shifted = logits - logits.max(dim=1, keepdim=True).values\n"
                "    log_probs = shifted - torch.log(torch.exp(shifted).sum(dim=1, keepdim=True))\n"
                "    picked = log_probs.gather(1, targets.long().unsqueeze(1)).squeeze(1)\n"
                "    return -picked.mean()\n",
                "    return nn.functional.cross_entropy(logits, targets.long())\n",
            ),
        ),
        "calls torch's cross_entropy instead of writing it by hand (forbidden)",
    ),
    Variant(
        "softmax-softmin",
        "model",
        (
            Edit(
                "model.py",
                "    shifted = logits - logits.max(dim=dim, keepdim=True).values\n"
                "    exps = torch.exp(shifted)\n"
                "    return exps / exps.sum(dim=dim, keepdim=True)\n",
                "    return nn.functional.softmin(-logits, dim=dim)\n",
            ),
        ),
        "softmax as PyTorch's softmin of -logits: right numbers, not by hand (no forbidden name on a deny-list)",
    ),
    Variant(
        "cross-entropy-distributions",
        "model",
        (
            Edit(
                "model.py",
                _CROSS_ENTROPY_SOLUTION,
                "    return -torch.distributions.Categorical(logits=logits).log_prob(targets).mean()\n",
            ),
        ),
        "cross_entropy through torch.distributions.Categorical's log_prob: right numbers, not by hand",
    ),
    Variant(
        "cross-entropy-log-of-softmax",
        "model",
        (
            Edit(
                "model.py",
                "    shifted = logits - logits.max(dim=1, keepdim=True).values\n"
                "    log_probs = shifted - torch.log(torch.exp(shifted).sum(dim=1, keepdim=True))\n",
                "    log_probs = torch.log(softmax(logits, dim=1))\n",
            ),
        ),
        "log(softmax(x)): a probability that rounds to 0 gives -log 0 = inf for extreme logits",
    ),
    Variant(
        "build-loss-classification-mse",
        "model",
        (Edit("model.py", '"classification": nn.CrossEntropyLoss,', '"classification": nn.MSELoss,'),),
        "classification mapped to MSELoss",
    ),
    Variant(
        "build-loss-binary-with-logits",
        "model",
        (Edit("model.py", '"binary": nn.BCELoss,', '"binary": nn.BCEWithLogitsLoss,'),),
        "binary mapped to BCEWithLogitsLoss instead of the slide's BCELoss",
    ),
    Variant(
        "optimizer-ignores-lr",
        "model",
        (
            Edit(
                "model.py",
                "return OPTIMIZERS[name](model.parameters(), lr=lr)",
                "return OPTIMIZERS[name](model.parameters())",
            ),
        ),
        "build_optimizer never passes lr, so every optimizer runs at its default rate",
    ),
    Variant(
        "adamw-is-adam",
        "model",
        (Edit("model.py", '"adamw": torch.optim.AdamW,', '"adamw": torch.optim.Adam,'),),
        '"adamw" builds torch.optim.Adam',
    ),
    Variant(
        "sgd-with-momentum",
        "model",
        (
            Edit(
                "model.py",
                "return OPTIMIZERS[name](model.parameters(), lr=lr)",
                'if name == "sgd":\n'
                "        return torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)\n"
                "    return OPTIMIZERS[name](model.parameters(), lr=lr)",
            ),
        ),
        "SGD built with momentum=0.9 instead of PyTorch's default settings",
    ),
    # ---- Step 3 (train) ---------------------------------------------------------------------------------------------
    Variant(
        "loss-gold-output-swapped",
        "train",
        (Edit("train.py", "loss = loss_fn(output, y)", "loss = loss_fn(y, output)"),),
        "the slide's slip: loss_function(gold, output) with the arguments swapped",
    ),
    Variant(
        "missing-zero-grad",
        "train",
        (Edit("train.py", "        optimizer.zero_grad()\n", ""),),
        "never clears gradients, so they accumulate across batches",
    ),
    Variant(
        "missing-step",
        "train",
        (Edit("train.py", "        optimizer.step()\n", ""),),
        "computes gradients but never updates the weights",
    ),
    Variant(
        "missing-backward",
        "train",
        (Edit("train.py", "        loss.backward()\n", ""),),
        "steps without computing gradients",
    ),
    Variant(
        "step-before-backward",
        "train",
        (
            Edit(
                "train.py",
                "        loss.backward()\n        optimizer.step()\n",
                "        optimizer.step()\n        loss.backward()\n",
            ),
        ),
        "optimizer.step() before loss.backward(): each step uses no (or cleared) gradients",
    ),
    Variant(
        "zero-grad-after-backward",
        "train",
        (
            Edit("train.py", "        optimizer.zero_grad()\n", ""),
            Edit("train.py", "        loss.backward()\n", "        loss.backward()\n        optimizer.zero_grad()\n"),
        ),
        "zero_grad between backward and step wipes the gradients before the update",
    ),
    Variant(
        "no-model-train",
        "train",
        (Edit("train.py", "    model.train()\n", ""),),
        "never switches the model to train mode",
    ),
    Variant(
        "unweighted-batch-mean",
        "train",
        (
            Edit(
                "train.py",
                "        total_loss += loss.item() * len(y)\n        n_samples += len(y)\n",
                "        total_loss += loss.item()\n        n_samples += 1\n",
            ),
        ),
        "mean of batch losses, not weighted by batch size (a short last batch counts fully)",
    ),
    Variant(
        "epoch-loss-tensor",
        "train",
        (Edit("train.py", "total_loss += loss.item() * len(y)", "total_loss += loss * len(y)"),),
        "accumulates the loss tensor, so train_one_epoch returns a tensor (holding the graph), not a float",
    ),
    Variant(
        "train-returns-last-loss",
        "train",
        (
            Edit(
                "train.py",
                "    return [\n"
                "        train_one_epoch(model, train_loader, loss_fn, optimizer, device)\n"
                "        for _ in range(epochs)\n"
                "    ]\n",
                "    loss = 0.0\n"
                "    for _ in range(epochs):\n"
                "        loss = train_one_epoch(model, train_loader, loss_fn, optimizer, device)\n"
                "    return loss\n",
            ),
        ),
        "train returns only the last epoch's loss instead of a list of every epoch's",
    ),
    Variant(
        "train-one-epoch-short",
        "train",
        (Edit("train.py", "for _ in range(epochs)", "for _ in range(1, epochs)"),),
        "range(1, epochs) runs one epoch too few",
    ),
    Variant(
        "train-drops-device",
        "train",
        (
            Edit(
                "train.py",
                "train_one_epoch(model, train_loader, loss_fn, optimizer, device)",
                "train_one_epoch(model, train_loader, loss_fn, optimizer)",
            ),
        ),
        "train never passes device on, so every epoch runs on train_one_epoch's default 'cpu' (crashes on a GPU)",
    ),
    Variant(
        "train-batch-not-moved",
        "train",
        (Edit("train.py", "        x, y = x.to(device), y.to(device)\n", ""),),
        "never moves the batch to `device` (crashes on a GPU; the CPU runner's guard sees it too)",
    ),
    Variant(
        "train-labels-not-moved",
        "train",
        (Edit("train.py", "x, y = x.to(device), y.to(device)", "x = x.to(device)"),),
        "moves x but not y to `device`, so the loss gets labels on another device",
    ),
    # ---- Step 4 (evaluate) ------------------------------------------------------------------------------------------
    Variant(
        "predict-batch-not-moved",
        "evaluate",
        (Edit("evaluate.py", "output = model(x.to(device))", "output = model(x)"),),
        "predict never moves x to `device`",
    ),
    Variant(
        "argmax-dim-0",
        "evaluate",
        (Edit("evaluate.py", "output.argmax(dim=1)", "output.argmax(dim=0)"),),
        "argmax over the batch dimension instead of the classes",
    ),
    Variant(
        "predict-without-eval",
        "evaluate",
        (Edit("evaluate.py", "    model.eval()\n", ""),),
        "predicts without model.eval(), so dropout/batch-norm stay in training mode",
    ),
    Variant(
        "predict-without-no-grad",
        "evaluate",
        (
            Edit(
                "evaluate.py",
                "    with torch.no_grad():\n"
                "        for x, y in loader:\n"
                "            output = model(x.to(device))\n"
                "            predictions.extend(output.argmax(dim=1).tolist())\n"
                "            labels.extend(y.tolist())\n",
                "    for x, y in loader:\n"
                "        output = model(x.to(device))\n"
                "        predictions.extend(output.argmax(dim=1).tolist())\n"
                "        labels.extend(y.tolist())\n",
            ),
        ),
        "predicts without torch.no_grad(), building autograd graphs during evaluation",
    ),
    Variant(
        "predict-returns-scores",
        "evaluate",
        (
            Edit(
                "evaluate.py",
                "predictions.extend(output.argmax(dim=1).tolist())",
                "predictions.extend(output.tolist())",
            ),
        ),
        "predict returns the raw logits of each sample instead of class indices",
    ),
    Variant(
        "predict-argmax-keepdim",
        "evaluate",
        (
            Edit(
                "evaluate.py",
                "predictions.extend(output.argmax(dim=1).tolist())",
                "predictions.extend(output.argmax(dim=1, keepdim=True).tolist())",
            ),
        ),
        "argmax with keepdim=True: predict returns [[i], [j], ...] instead of a flat list of ints",
    ),
    Variant(
        "evaluate-percent",
        "evaluate",
        (
            Edit(
                "evaluate.py",
                "return float(accuracy_score(labels, predictions))",
                "return 100.0 * accuracy_score(labels, predictions)",
            ),
        ),
        "evaluate returns a percentage instead of a fraction",
    ),
    Variant(
        "evaluate-last-batch-only",
        "evaluate",
        (
            Edit(
                "evaluate.py",
                "    predictions, labels = _predict_with_labels(model, loader, device)\n"
                "    return float(accuracy_score(labels, predictions))\n",
                "    model.eval()\n"
                "    with torch.no_grad():\n"
                "        for x, y in loader:\n"
                "            predictions = model(x.to(device)).argmax(dim=1)\n"
                "    return float(accuracy_score(y.tolist(), predictions.tolist()))\n",
            ),
        ),
        "the accuracy is computed after the loop, on the last batch only",
    ),
    Variant(
        "evaluate-per-batch-count",
        "evaluate",
        (
            Edit(
                "evaluate.py",
                "    predictions, labels = _predict_with_labels(model, loader, device)\n"
                "    return float(accuracy_score(labels, predictions))\n",
                "    predictions, labels = _predict_with_labels(model, loader, device)\n"
                "    correct = sum(p == t for p, t in zip(predictions, labels))\n"
                "    return correct / len(loader)\n",
            ),
        ),
        "divides the number of correct samples by the number of batches, not samples",
    ),
    Variant(
        "evaluate-without-eval",
        "evaluate",
        (Edit("evaluate.py", _EVALUATE_BODY, _evaluate_loop(eval_mode=False)),),
        "evaluate runs its own loop without model.eval() (predict is right)",
    ),
    Variant(
        "evaluate-without-no-grad",
        "evaluate",
        (Edit("evaluate.py", _EVALUATE_BODY, _evaluate_loop(no_grad=False)),),
        "evaluate runs its own loop without torch.no_grad() (predict is right)",
    ),
    Variant(
        "evaluate-batch-not-moved",
        "evaluate",
        (Edit("evaluate.py", _EVALUATE_BODY, _evaluate_loop(move=False)),),
        "evaluate runs its own loop and never moves x to `device` (predict is right)",
    ),
)

# ---------------------------------------------------------------------------------------------------------------------
# Correct variants: each rewrites at least one whole function or class in another style and must get full marks.
# ---------------------------------------------------------------------------------------------------------------------

_TITANIC_INIT_BODY = (
    '        with open(csv_path, newline="", encoding="utf-8-sig") as f:\n'
    "            rows = list(csv.DictReader(f))\n"
    "        # Tensors are built once here so that __getitem__ is a plain lookup.\n"
    "        self.samples = [\n"
    "            (\n"
    "                torch.tensor(_features(row), dtype=torch.float32),\n"
    '                torch.tensor(int(row["Survived"]), dtype=torch.int64),\n'
    "            )\n"
    "            for row in rows\n"
    "        ]\n"
)

_TITANIC_GETITEM_BODY = "        return self.samples[index]\n"

_HANDWRITE_GETITEM_BODY = (
    "        fname = self.files[index]\n"
    "        image = Image.open(fname)\n"
    "        if self.transform is not None:\n"
    "            image = self.transform(image)\n"
    "        # basename, unlike split('/'), also works for Path objects and Windows paths.\n"
    '        label = os.path.basename(fname).split("_")[0]\n'
    "        return image, torch.tensor(self.word_to_id[label], dtype=torch.int64)\n"
)

_SPLIT_BODY = (
    "    n = len(dataset)\n"
    "    n_train, n_val = int(fractions[0] * n), int(fractions[1] * n)\n"
    "    # A private generator makes the split depend on seed alone, not on global RNG state.\n"
    "    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()\n"
    "    return (\n"
    "        Subset(dataset, order[:n_train]),\n"
    "        Subset(dataset, order[n_train : n_train + n_val]),\n"
    "        Subset(dataset, order[n_train + n_val :]),\n"
    "    )\n"
)

_MYMODEL_INIT_BODY = (
    "        # Without this call nn.Module has no registry to record the layers in.\n"
    "        super().__init__()\n"
    "        self.fc1 = nn.Linear(in_features, hidden_size)\n"
    "        self.relu = nn.ReLU()\n"
    "        self.fc2 = nn.Linear(hidden_size, num_classes)\n"
)

_MYMODEL_FORWARD_BODY = "        return self.fc2(self.relu(self.fc1(x)))\n"

_IMPORTS = "import torch\nfrom torch import nn\n"

_SOFTMAX_BODY = (
    "    shifted = logits - logits.max(dim=dim, keepdim=True).values\n"
    "    exps = torch.exp(shifted)\n"
    "    return exps / exps.sum(dim=dim, keepdim=True)\n"
)

_CROSS_ENTROPY_BODY = (
    "    shifted = logits - logits.max(dim=1, keepdim=True).values\n"
    "    log_probs = shifted - torch.log(torch.exp(shifted).sum(dim=1, keepdim=True))\n"
    "    picked = log_probs.gather(1, targets.long().unsqueeze(1)).squeeze(1)\n"
    "    return -picked.mean()\n"
)

_BUILD_LOSS_BODY = (
    "    if task not in LOSSES:\n"
    '        raise ValueError(f"unknown task {task!r}; expected one of {sorted(LOSSES)}")\n'
    "    return LOSSES[task]()\n"
)

_BUILD_OPTIMIZER_BODY = (
    "    if name not in OPTIMIZERS:\n"
    "        raise ValueError(\n"
    '            f"unknown optimizer {name!r}; expected one of {sorted(OPTIMIZERS)}"\n'
    "        )\n"
    "    return OPTIMIZERS[name](model.parameters(), lr=lr)\n"
)

_TRAIN_ONE_EPOCH_BODY = (
    "    model.train()\n"
    "    total_loss, n_samples = 0.0, 0\n"
    "    for x, y in loader:\n"
    "        x, y = x.to(device), y.to(device)\n"
    "        optimizer.zero_grad()\n"
    "        output = model(x)\n"
    "        # Prediction first: the slide's loss_function(gold, output) swaps them.\n"
    "        loss = loss_fn(output, y)\n"
    "        loss.backward()\n"
    "        optimizer.step()\n"
    "        # loss is a batch mean; weighting by size makes a short last batch count less.\n"
    "        total_loss += loss.item() * len(y)\n"
    "        n_samples += len(y)\n"
    "    return total_loss / n_samples\n"
)

_TRAIN_BODY = (
    "    return [\n"
    "        train_one_epoch(model, train_loader, loss_fn, optimizer, device)\n"
    "        for _ in range(epochs)\n"
    "    ]\n"
)

_PREDICT_BODY = "    return _predict_with_labels(model, loader, device)[0]\n"

CORRECT: tuple[Variant, ...] = (
    Variant(
        "csv-reader-header-index",
        None,
        (
            Edit(
                "data.py",
                _TITANIC_INIT_BODY,
                '        with open(csv_path, newline="", encoding="utf-8-sig") as f:\n'
                "            reader = csv.reader(f)\n"
                "            header = next(reader)\n"
                "            column = {name: i for i, name in enumerate(header)}\n"
                "            table = [cells for cells in reader if cells]\n"
                '        numeric = ["Pclass", "Age", "SibSp", "Parch", "Fare"]\n'
                "        self.samples = []\n"
                "        for cells in table:\n"
                "            values = {name: float(cells[column[name]].strip() or 0) for name in numeric}\n"
                '            sex = 1.0 if cells[column["Sex"]].strip() == "female" else 0.0\n'
                "            x = torch.tensor(\n"
                '                [values["Pclass"], sex, values["Age"], values["SibSp"], values["Parch"], '
                'values["Fare"]],\n'
                "                dtype=torch.float32,\n"
                "            )\n"
                '            y = torch.tensor(int(cells[column["Survived"]]), dtype=torch.int64)\n'
                "            self.samples.append((x, y))\n",
            ),
        ),
        "csv.reader with a header-name -> column-index lookup instead of DictReader",
    ),
    Variant(
        "titanic-lazy-list-of-lists",
        None,
        (
            Edit(
                "data.py",
                _TITANIC_INIT_BODY,
                "        self.rows: list[list[float]] = []\n"
                "        self.targets: list[int] = []\n"
                '        with open(csv_path, newline="", encoding="utf-8-sig") as f:\n'
                "            for row in csv.DictReader(f):\n"
                "                self.rows.append(_features(row))\n"
                '                self.targets.append(int(row["Survived"]))\n',
            ),
            Edit(
                "data.py",
                _TITANIC_GETITEM_BODY,
                "        row, target = self.rows[index], self.targets[index]\n"
                "        return torch.tensor(row, dtype=torch.float32), torch.tensor(target)\n",
            ),
            Edit("data.py", "        return len(self.samples)\n", "        return len(self.targets)\n"),
        ),
        "rows kept as plain Python lists; the tensors are built lazily in __getitem__",
    ),
    Variant(
        "titanic-stacked-tensors-list-pair",
        None,
        (
            Edit(
                "data.py",
                _TITANIC_INIT_BODY,
                '        with open(csv_path, newline="", encoding="utf-8-sig") as f:\n'
                "            rows = list(csv.DictReader(f))\n"
                "        self.x = torch.tensor([_features(row) for row in rows], dtype=torch.float32).reshape(-1, 6)\n"
                '        self.y = torch.tensor([int(row["Survived"]) for row in rows], dtype=torch.int64)\n',
            ),
            Edit("data.py", _TITANIC_GETITEM_BODY, "        return [self.x[index], self.y[index]]\n"),
            Edit("data.py", "        return len(self.samples)\n", "        return self.y.shape[0]\n"),
        ),
        "two stacked tensors indexed per item, returning a list [x, y] instead of a tuple",
    ),
    Variant(
        "handwrite-pathlib-partition",
        None,
        (
            Edit("data.py", "import os\n", "import os\nimport pathlib\n"),
            Edit(
                "data.py",
                _HANDWRITE_GETITEM_BODY,
                "        path = pathlib.Path(self.files[index])\n"
                '        label, _, _ = path.name.partition("_")\n'
                "        image = Image.open(path)\n"
                "        if self.transform:\n"
                "            image = self.transform(image)\n"
                "        return image, torch.tensor(self.word_to_id[label])\n",
            ),
            Edit("data.py", "        return len(self.files)\n", "        return len(self.paths)\n"),
            Edit(
                "data.py",
                "        self.files = files\n",
                "        self.files = files\n        self.paths = list(files)\n",
            ),
        ),
        "HandWrite with pathlib.Path(f).name.partition('_') and a copied list of paths",
    ),
    Variant(
        "split-random-shuffle",
        None,
        (
            Edit("data.py", "import os\n", "import os\nimport random\n"),
            Edit(
                "data.py",
                _SPLIT_BODY,
                "    indices = list(range(len(dataset)))\n"
                "    random.Random(seed).shuffle(indices)\n"
                "    a = int(fractions[0] * len(indices))\n"
                "    b = a + int(fractions[1] * len(indices))\n"
                "    train, val, test = indices[:a], indices[a:b], indices[b:]\n"
                "    return Subset(dataset, train), Subset(dataset, val), Subset(dataset, test)\n",
            ),
        ),
        "split with Python's random.Random(seed).shuffle and Subset",
    ),
    Variant(
        "split-random-split",
        None,
        (
            Edit(
                "data.py",
                "from torch.utils.data import DataLoader, Dataset, Subset\n",
                "from torch.utils.data import DataLoader, Dataset, Subset, random_split\n",
            ),
            Edit(
                "data.py",
                _SPLIT_BODY,
                "    n = len(dataset)\n"
                "    lengths = [int(fractions[0] * n), int(fractions[1] * n)]\n"
                "    lengths.append(n - sum(lengths))\n"
                "    train, val, test = random_split(dataset, lengths, generator=torch.Generator().manual_seed(seed))\n"
                "    return train, val, test\n",
            ),
        ),
        "torch.utils.data.random_split with explicit integer lengths and a seeded generator",
    ),
    Variant(
        "loaders-keyword-dict",
        None,
        (
            Edit(
                "data.py",
                "    return (\n"
                "        DataLoader(trainset, batch_size=train_bs, shuffle=True),\n"
                "        DataLoader(valset, batch_size=eval_bs, shuffle=False),\n"
                "        DataLoader(testset, batch_size=eval_bs, shuffle=False),\n"
                "    )\n",
                '    settings = {"train": (train_bs, True), "eval": (eval_bs, False)}\n'
                "    loaders = []\n"
                '    for dataset, kind in ((trainset, "train"), (valset, "eval"), (testset, "eval")):\n'
                "        batch_size, shuffle = settings[kind]\n"
                "        loaders.append(DataLoader(dataset, batch_size=batch_size, shuffle=shuffle))\n"
                "    train_loader, val_loader, test_loader = loaders\n"
                "    return train_loader, val_loader, test_loader\n",
            ),
        ),
        "loaders built in a loop from a settings table",
    ),
    Variant(
        "model-sequential",
        None,
        (
            Edit(
                "model.py",
                _MYMODEL_INIT_BODY,
                "        super().__init__()\n"
                "        self.net = nn.Sequential(\n"
                "            nn.Linear(in_features, hidden_size),\n"
                "            nn.ReLU(),\n"
                "            nn.Linear(hidden_size, num_classes),\n"
                "        )\n",
            ),
            Edit("model.py", _MYMODEL_FORWARD_BODY, "        return self.net(x)\n"),
        ),
        "MyModel as one nn.Sequential",
    ),
    Variant(
        "model-functional-relu",
        None,
        (
            Edit("model.py", "from torch import nn\n", "from torch import nn\nfrom torch.nn import functional as F\n"),
            Edit(
                "model.py",
                _MYMODEL_INIT_BODY,
                "        super(MyModel, self).__init__()\n"
                "        self.hidden = nn.Linear(in_features, hidden_size)\n"
                "        self.output = nn.Linear(hidden_size, num_classes)\n",
            ),
            Edit(
                "model.py",
                _MYMODEL_FORWARD_BODY,
                "        h = F.relu(self.hidden(x))\n        logits = self.output(h)\n        return logits\n",
            ),
        ),
        "MyModel with F.relu, differently named layers and the old super(MyModel, self) form",
    ),
    Variant(
        "softmax-logsumexp",
        None,
        (
            Edit(
                "model.py",
                _SOFTMAX_BODY,
                "    return torch.exp(logits - torch.logsumexp(logits, dim=dim, keepdim=True))\n",
            ),
        ),
        "softmax as exp(x - logsumexp(x))",
    ),
    Variant(
        "cross-entropy-helper-module",
        None,
        (
            Edit(
                "mathutils.py",
                "",
                '"""Numerically stable helpers for model.py."""\n'
                "\n"
                "import torch\n"
                "\n"
                "\n"
                "def stable_log_softmax(logits: torch.Tensor, dim: int = -1) -> torch.Tensor:\n"
                '    """log(softmax(logits)) via the log-sum-exp trick."""\n'
                "    top = logits.amax(dim=dim, keepdim=True)\n"
                "    shifted = logits - top\n"
                "    return shifted - shifted.exp().sum(dim=dim, keepdim=True).log()\n",
            ),
            Edit(
                "model.py",
                "import torch\nfrom torch import nn\n",
                "import mathutils\nimport torch\nfrom torch import nn\n",
            ),
            Edit(
                "model.py",
                _CROSS_ENTROPY_BODY,
                "    log_probs = mathutils.stable_log_softmax(logits, dim=1)\n"
                "    nll = -torch.gather(log_probs, 1, targets.view(-1, 1).long()).view(-1)\n"
                "    return nll.sum() / nll.numel()\n",
            ),
            Edit(
                "model.py",
                _SOFTMAX_BODY,
                "    return mathutils.stable_log_softmax(logits, dim=dim).exp()\n",
            ),
        ),
        "softmax and cross_entropy via a stable log-softmax helper in a separate module (plain import)",
    ),
    Variant(
        "cross-entropy-one-hot",
        None,
        (
            Edit(
                "model.py",
                _CROSS_ENTROPY_BODY,
                "    num_classes = logits.shape[1]\n"
                "    log_probs = logits - torch.logsumexp(logits, dim=1, keepdim=True)\n"
                "    one_hot = torch.eye(num_classes, dtype=log_probs.dtype, device=logits.device)[targets.long()]\n"
                "    per_sample = -(one_hot * log_probs).sum(dim=1)\n"
                "    return per_sample.mean()\n",
            ),
        ),
        "cross_entropy by multiplying a one-hot target matrix with the log-probabilities and summing",
    ),
    Variant(
        "build-if-elif",
        None,
        (
            Edit(
                "model.py",
                _BUILD_LOSS_BODY,
                '    if task == "classification":\n'
                "        return nn.CrossEntropyLoss()\n"
                '    elif task == "regression":\n'
                "        return nn.MSELoss()\n"
                '    elif task == "binary":\n'
                "        return nn.BCELoss()\n"
                "    else:\n"
                "        raise ValueError(task)\n",
            ),
            Edit(
                "model.py",
                _BUILD_OPTIMIZER_BODY,
                "    params = model.parameters()\n"
                '    if name == "sgd":\n'
                "        optimizer = torch.optim.SGD(params, lr=lr)\n"
                '    elif name == "rmsprop":\n'
                "        optimizer = torch.optim.RMSprop(params, lr=lr)\n"
                '    elif name == "adam":\n'
                "        optimizer = torch.optim.Adam(params, lr=lr)\n"
                '    elif name == "adamw":\n'
                "        optimizer = torch.optim.AdamW(params, lr=lr)\n"
                "    else:\n"
                '        raise ValueError(f"unknown optimizer {name}")\n'
                "    return optimizer\n",
            ),
        ),
        "build_loss and build_optimizer as if/elif chains instead of module-level tables",
    ),
    Variant(
        "build-inline-dicts",
        None,
        (
            Edit(
                "model.py",
                _BUILD_LOSS_BODY,
                '    return {"classification": nn.CrossEntropyLoss, "regression": nn.MSELoss, '
                '"binary": nn.BCELoss}[task]()\n',
            ),
            Edit(
                "model.py",
                _BUILD_OPTIMIZER_BODY,
                "    classes = {\n"
                '        "sgd": torch.optim.SGD,\n'
                '        "rmsprop": torch.optim.RMSprop,\n'
                '        "adam": torch.optim.Adam,\n'
                '        "adamw": torch.optim.AdamW,\n'
                "    }\n"
                "    return classes[name.lower()](params=model.parameters(), lr=lr)\n",
            ),
        ),
        "build_loss and build_optimizer via dict literals inside the functions",
    ),
    Variant(
        "train-explicit-loop-size0",
        None,
        (
            Edit(
                "train.py",
                _TRAIN_ONE_EPOCH_BODY,
                "    model.train()\n"
                "    running, seen = 0.0, 0\n"
                "    for batch_x, batch_y in loader:\n"
                "        batch_x = batch_x.to(device)\n"
                "        batch_y = batch_y.to(device)\n"
                "        optimizer.zero_grad()\n"
                "        output = model(batch_x)\n"
                "        loss = loss_fn(output, batch_y)\n"
                "        loss.backward()\n"
                "        optimizer.step()\n"
                "        running += loss.item() * batch_x.size(0)\n"
                "        seen += batch_x.size(0)\n"
                "    return running / seen\n",
            ),
            Edit(
                "train.py",
                _TRAIN_BODY,
                "    history = []\n"
                "    for epoch in range(epochs):\n"
                "        epoch_loss = train_one_epoch(model, train_loader, loss_fn, optimizer, device=device)\n"
                "        history.append(epoch_loss)\n"
                "    return history\n",
            ),
        ),
        "explicit loops with x.size(0) weighting and a history list appended per epoch",
    ),
    Variant(
        "train-tensor-accumulator",
        None,
        (
            Edit(
                "train.py",
                _TRAIN_ONE_EPOCH_BODY,
                "    model.train()\n"
                "    total = torch.zeros(())\n"
                "    count = 0\n"
                "    for x, y in loader:\n"
                "        x, y = x.to(device), y.to(device)\n"
                "        optimizer.zero_grad(set_to_none=True)\n"
                "        loss = loss_fn(model(x), y)\n"
                "        loss.backward()\n"
                "        optimizer.step()\n"
                "        total += loss.detach().cpu() * y.shape[0]\n"
                "        count += y.shape[0]\n"
                "    return float(total / count)\n",
            ),
        ),
        "accumulates the detached loss as a tensor and converts to float once at the end",
    ),
    Variant(
        "predict-torch-cat",
        None,
        (
            Edit(
                "evaluate.py",
                _PREDICT_BODY,
                "    model.eval()\n"
                "    batches = []\n"
                "    with torch.no_grad():\n"
                "        for x, _ in loader:\n"
                "            batches.append(model(x.to(device)).argmax(dim=-1).cpu())\n"
                "    if not batches:\n"
                "        return torch.zeros(0, dtype=torch.int64)\n"
                "    return torch.cat(batches)\n",
            ),
        ),
        "predict returns a 1-D int64 tensor built with torch.cat",
    ),
    Variant(
        "evaluate-by-hand",
        None,
        (
            Edit(
                "evaluate.py",
                _EVALUATE_BODY,
                "    model.eval()\n"
                "    preds, labels = [], []\n"
                "    with torch.no_grad():\n"
                "        for x, y in loader:\n"
                "            preds.append(model(x.to(device)).argmax(dim=1).cpu())\n"
                "            labels.append(y.cpu())\n"
                "    return (torch.cat(preds) == torch.cat(labels)).float().mean().item()\n",
            ),
        ),
        "accuracy computed by hand ((preds == labels).float().mean().item()) instead of sklearn",
    ),
    Variant(
        "device-moves-other-ways",
        None,
        (
            Edit(
                "train.py",
                "x, y = x.to(device), y.to(device)",
                "x, y = torch.as_tensor(x, device=device), y.to(device=device, non_blocking=True)",
            ),
            Edit(
                "evaluate.py", "output = model(x.to(device))", "output = model(x.to(next(model.parameters()).device))"
            ),
        ),
        "moves batches with torch.as_tensor(..., device=), .to(device=..., non_blocking=True) and the model's device",
    ),
    Variant(
        "device-moves-whole-batch",
        None,
        (
            Edit(
                "train.py",
                "    for x, y in loader:\n        x, y = x.to(device), y.to(device)\n",
                "    for batch in loader:\n        x, y = [t.to(torch.device(device)) for t in batch]\n",
            ),
        ),
        "moves the whole batch in a list comprehension, to a torch.device",
    ),
    Variant(
        "helpers-star-import",
        None,
        (
            Edit("helpers.py", "", "import torch\n\n\n" + _top_level("softmax") + "\n\n" + _top_level("cross_entropy")),
            Edit("model.py", _IMPORTS, _IMPORTS + "\nfrom helpers import *\n"),
            Edit("model.py", _top_level("softmax"), ""),
            Edit("model.py", _top_level("cross_entropy"), ""),
        ),
        "softmax and cross_entropy moved to helpers.py, brought back into model.py with `from helpers import *`",
    ),
    Variant(
        "helpers-subpackage-dotted",
        None,
        (
            Edit("mathlib/__init__.py", "", ""),
            Edit(
                "mathlib/functional.py",
                "",
                "import torch\n\n\n"
                "def log_softmax(logits: torch.Tensor, dim: int) -> torch.Tensor:\n"
                "    shifted = logits - logits.amax(dim=dim, keepdim=True)\n"
                "    return shifted - shifted.exp().sum(dim=dim, keepdim=True).log()\n",
            ),
            Edit("model.py", _IMPORTS, "import mathlib.functional\n" + _IMPORTS),
            Edit("model.py", _SOFTMAX_BODY, "    return mathlib.functional.log_softmax(logits, dim).exp()\n"),
            Edit(
                "model.py",
                _CROSS_ENTROPY_BODY,
                "    log_probs = mathlib.functional.log_softmax(logits, 1)\n"
                "    return -log_probs[torch.arange(len(targets)), targets].mean()\n",
            ),
        ),
        "its own log_softmax in a subpackage, called as mathlib.functional.log_softmax (the name is the student's)",
    ),
    Variant(
        "output-layer-zero-init",
        None,
        (
            Edit(
                "model.py",
                "        self.fc2 = nn.Linear(hidden_size, num_classes)\n",
                "        self.fc2 = nn.Linear(hidden_size, num_classes)\n"
                "        nn.init.zeros_(self.fc2.weight)\n"
                "        nn.init.zeros_(self.fc2.bias)\n",
            ),
        ),
        "the output layer starts at zero, so a fresh model's logits are all 0 (inside [0, 1], yet logits)",
    ),
    Variant(
        "train-loader-drop-last",
        None,
        (
            Edit(
                "data.py",
                "DataLoader(trainset, batch_size=train_bs, shuffle=True)",
                "DataLoader(trainset, batch_size=train_bs, shuffle=True, drop_last=True)",
            ),
        ),
        "the train loader drops its last, shorter batch (drop_last=True)",
    ),
    Variant(
        "evaluate-two-passes",
        None,
        (
            Edit(
                "evaluate.py",
                _EVALUATE_BODY,
                "    predictions = predict(model, loader, device)\n"
                "    labels = [int(label) for _, y in loader for label in y]\n"
                "    return accuracy_score(labels, predictions)\n",
            ),
        ),
        "evaluate calls predict, then collects the labels in a second pass over the (unshuffled) loader",
    ),
)

# ---------------------------------------------------------------------------------------------------------------------
# Work not done (grader.checks.hw1.audit.forgeries): submissions that compute nothing and try to collect points
# anyway must get none; bugs that fake the training must get no end-to-end points.
# ---------------------------------------------------------------------------------------------------------------------

FORGED: tuple[Variant, ...] = forgeries.FORGED
BUGGY += (
    forgeries.TAMPERED_LIST_MODEL,
    *(replace(variant, no_points_in=("end-to-end",)) for variant in forgeries.END_TO_END_FORGED),
)
