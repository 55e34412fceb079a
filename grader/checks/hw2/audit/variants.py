"""hw2's mutation corpus: variants of the reference solution, graded by ``python -m grader audit hw2``.

Staff only: this folder is never shipped (see grader/audit.py). Each bug is one a student makes; each
correct rewrite is another way of writing the contract that must get full marks.
"""

from __future__ import annotations

from dataclasses import replace

from grader.audit import Edit, Variant
from grader.checks.hw2.audit import forgeries

_TOKENIZE = "    return _TOKEN.findall(text.lower())\n"
_READ = '        return [(row["text"], int(row["label"])) for row in csv.DictReader(f)]\n'
_COUNT = "    counts = Counter(token for text in texts for token in tokenize(text))\n"
_KEEP = "    kept = [token for token, count in counts.items() if count >= min_freq]\n"
_SORT = "    kept.sort(key=lambda token: (-counts[token], token))\n"
_NUMBER = "    return {token: index for index, token in enumerate([*SPECIALS, *kept])}\n"
_ENCODE = "    return [vocab.get(token, UNK_ID) for token in tokenize(text)]\n"
_ITEM_IDS = "                torch.tensor(encode(text, vocab), dtype=torch.int64),\n"
_ITEM_LABEL = "                torch.tensor(label, dtype=torch.int64),\n"
_COLLATE = (
    "    lengths = [len(ids) for ids, _ in items]\n"
    "    longest = max(lengths)\n"
    "    input_ids = torch.full((len(items), longest), PAD_ID, dtype=torch.int64)\n"
    "    attention_mask = torch.zeros((len(items), longest), dtype=torch.int64)\n"
    "    for row, ((ids, _), length) in enumerate(zip(items, lengths)):\n"
    "        input_ids[row, :length] = ids\n"
    "        attention_mask[row, :length] = 1\n"
)
_RETURN_BATCH = '    return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}\n'
_TRAIN_LOADER = "        DataLoader(trainset, batch_size=train_bs, shuffle=True, collate_fn=collate_batch),\n"
_EVAL_LOADER = "        DataLoader(evalset, batch_size=eval_bs, shuffle=False, collate_fn=collate_batch),\n"
_POOL = (
    "    mask = attention_mask.unsqueeze(-1).to(embeddings.dtype)\n"
    "    total = (embeddings * mask).sum(dim=1)\n"
    "    # An empty text has no real token: clamp keeps 0 / 0 from becoming nan.\n"
    "    count = mask.sum(dim=1).clamp(min=1)\n"
    "    return total / count\n"
)
_EMBEDDING = "        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=0)\n"
_FORWARD = (
    "        pooled = masked_mean(self.embedding(input_ids), attention_mask)\n        return self.classifier(pooled)\n"
)
_MOVE = "        batch = {key: value.to(device) for key, value in batch.items()}\n"
_POP = '        labels = batch.pop("labels")\n'
_CLIP = (
    "        if max_grad_norm is not None:\n"
    "            # Between backward (gradients exist) and step (they are used).\n"
    "            nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)\n"
)
_EPOCH_LOOP = (
    "    model.train()\n"
    "    total_loss, n_samples = 0.0, 0\n"
    "    for batch in loader:\n"
    "        batch = {key: value.to(device) for key, value in batch.items()}\n"
    "        # forward() takes input_ids and attention_mask only: labels go to the loss.\n"
    '        labels = batch.pop("labels")\n'
    "        optimizer.zero_grad()\n"
    "        output = model(**batch)\n"
    "        loss = loss_fn(output, labels)\n"
    "        loss.backward()\n"
)
_TRAIN_CALL = "        train_one_epoch(model, train_loader, loss_fn, optimizer, device, max_grad_norm)\n"
_PREDICT_LOOP = (
    "    model.eval()\n"
    "    predictions: list[int] = []\n"
    "    labels: list[int] = []\n"
    "    with torch.no_grad():\n"
    "        for batch in loader:\n"
    "            batch = {key: value.to(device) for key, value in batch.items()}\n"
    '            gold = batch.pop("labels")\n'
    "            output = model(**batch)\n"
    "            predictions.extend(output.argmax(dim=1).tolist())\n"
    "            labels.extend(gold.tolist())\n"
)
_F1 = '        "macro_f1": float(f1_score(labels, predictions, average="macro")),\n'
_ACCURACY = '        "accuracy": float(accuracy_score(labels, predictions)),\n'


def _data(old: str, new: str) -> Edit:
    return Edit("data.py", old, new)


def _model(old: str, new: str) -> Edit:
    return Edit("model.py", old, new)


def _train(old: str, new: str) -> Edit:
    return Edit("train.py", old, new)


def _evaluate(old: str, new: str) -> Edit:
    return Edit("evaluate.py", old, new)


BUGGY: tuple[Variant, ...] = (
    # ---- Step 1 (data): the tokenizer ---------------------------------------------------------------------------
    Variant(
        "tokenize-keeps-case",
        "data",
        (_data(_TOKENIZE, "    return _TOKEN.findall(text)\n"),),
        "forgets to lower-case: 'The' and 'the' become two tokens",
    ),
    Variant(
        "tokenize-split-on-spaces",
        "data",
        (_data(_TOKENIZE, "    return text.lower().split()\n"),),
        "str.split(): 'world!' stays one token",
    ),
    Variant(
        "tokenize-drops-punctuation",
        "data",
        (_data('_TOKEN = re.compile(r"\\w+|[^\\w\\s]")', '_TOKEN = re.compile(r"\\w+")'),),
        "keeps only the words",
    ),
    Variant(
        "tokenize-groups-punctuation",
        "data",
        (_data('_TOKEN = re.compile(r"\\w+|[^\\w\\s]")', '_TOKEN = re.compile(r"\\w+|[^\\w\\s]+")'),),
        "'!!' and '...' become one token",
    ),
    Variant(
        "tokenize-ascii-letters",
        "data",
        (_data('_TOKEN = re.compile(r"\\w+|[^\\w\\s]")', '_TOKEN = re.compile(r"[a-z0-9]+|[^a-z0-9\\s]")'),),
        "[a-z0-9]+ for words: 'café' splits into 'caf' and 'é'",
    ),
    # ---- Step 1 (data): reading the rows --------------------------------------------------------------------------
    Variant(
        "read-rows-split-on-commas",
        "data",
        (
            _data(
                '    with open(csv_path, newline="", encoding="utf-8") as f:\n' + _READ,
                '    with open(csv_path, encoding="utf-8") as f:\n'
                "        lines = f.read().splitlines()[1:]\n"
                '    return [(line.rsplit(",", 1)[0], int(line.rsplit(",", 1)[1])) for line in lines]\n',
            ),
        ),
        "splits lines on the last comma: quoted texts keep their quotes, a line break inside a text breaks the row",
    ),
    Variant(
        "read-rows-label-string",
        "data",
        (_data(_READ, '        return [(row["text"], row["label"]) for row in csv.DictReader(f)]\n'),),
        "keeps the label as a string",
    ),
    Variant(
        "read-rows-skips-first-row",
        "data",
        (_data(_READ, '        return [(row["text"], int(row["label"])) for row in csv.DictReader(f)][1:]\n'),),
        "drops the first data row, believing it is the header",
    ),
    Variant(
        "read-rows-columns-by-position",
        "data",
        (
            _data(
                _READ,
                "        reader = csv.reader(f)\n"
                "        next(reader)\n"
                "        return [(row[0], int(row[1])) for row in reader]\n",
            ),
        ),
        "reads the text from the first column and the label from the second, whatever the header says",
    ),
    # ---- Step 1 (data): the vocabulary ----------------------------------------------------------------------------
    Variant(
        "vocab-most-common-ties",
        "data",
        (
            _data(
                _KEEP + "    # Ties in alphabetical order: the ids do not depend on the order of the texts.\n" + _SORT,
                "    kept = [token for token, count in counts.most_common() if count >= min_freq]\n",
            ),
        ),
        "Counter.most_common(): ties in order of first appearance, not alphabetical",
    ),
    Variant(
        "vocab-min-freq-strict",
        "data",
        (_data(_KEEP, "    kept = [token for token, count in counts.items() if count > min_freq]\n"),),
        "count > min_freq drops the tokens seen exactly min_freq times",
    ),
    Variant(
        "vocab-without-specials",
        "data",
        (_data(_NUMBER, "    return {token: index for index, token in enumerate(kept)}\n"),),
        "forgets <pad> and <unk>: the most frequent token gets id 0, the padding id",
    ),
    Variant(
        "vocab-specials-swapped",
        "data",
        (_data('SPECIALS = ("<pad>", "<unk>")', 'SPECIALS = ("<unk>", "<pad>")'),),
        "<unk> is 0 and <pad> is 1",
    ),
    Variant(
        "vocab-document-frequency",
        "data",
        (_data(_COUNT, "    counts = Counter(token for text in texts for token in set(tokenize(text)))\n"),),
        "counts the texts a token occurs in, not its occurrences",
    ),
    Variant(
        "vocab-least-frequent-first",
        "data",
        (_data(_SORT, "    kept.sort(key=lambda token: (counts[token], token))\n"),),
        "sorts by ascending count",
    ),
    Variant(
        "vocab-split-not-tokenize",
        "data",
        (_data(_COUNT, "    counts = Counter(token for text in texts for token in text.lower().split())\n"),),
        "builds the vocabulary from str.split() instead of tokenize: 'dog!' becomes a token",
    ),
    # ---- Step 1 (data): encoding and the dataset ------------------------------------------------------------------
    Variant(
        "encode-drops-unknown",
        "data",
        (_data(_ENCODE, "    return [vocab[token] for token in tokenize(text) if token in vocab]\n"),),
        "leaves the unknown tokens out instead of <unk>",
    ),
    Variant(
        "encode-unknown-as-pad",
        "data",
        (_data(_ENCODE, "    return [vocab.get(token, PAD_ID) for token in tokenize(text)]\n"),),
        "unknown tokens become <pad> (0)",
    ),
    Variant(
        "dataset-empty-text-float",
        "data",
        (_data(_ITEM_IDS, "                torch.tensor(encode(text, vocab)),\n"),),
        "torch.tensor([]) of an empty text is float32",
    ),
    Variant(
        "dataset-label-int",
        "data",
        (_data(_ITEM_LABEL, "                label,\n"),),
        "the label is a Python int, not a 0-dim int64 tensor",
    ),
    # ---- Step 1 (data): collate_batch -----------------------------------------------------------------------------
    Variant(
        "collate-left-padding",
        "data",
        (
            _data(
                "        input_ids[row, :length] = ids\n        attention_mask[row, :length] = 1\n",
                "        input_ids[row, longest - length :] = ids\n"
                "        attention_mask[row, longest - length :] = 1\n",
            ),
        ),
        "pads on the left",
    ),
    Variant(
        "collate-mask-inverted",
        "data",
        (
            _data(
                _RETURN_BATCH,
                '    return {"input_ids": input_ids, "attention_mask": 1 - attention_mask, "labels": labels}\n',
            ),
        ),
        "1 at padding, 0 at the real tokens",
    ),
    Variant(
        "collate-mask-bool",
        "data",
        (
            _data(
                "    attention_mask = torch.zeros((len(items), longest), dtype=torch.int64)\n",
                "    attention_mask = torch.zeros((len(items), longest), dtype=torch.bool)\n",
            ),
        ),
        "a bool mask instead of int64",
    ),
    Variant(
        "collate-fixed-length",
        "data",
        (_data("    longest = max(lengths)\n", "    longest = max(16, max(lengths))\n"),),
        "pads every batch to at least 16 tokens instead of its longest sequence",
    ),
    Variant(
        "collate-pads-with-unk",
        "data",
        (
            _data(
                "    input_ids = torch.full((len(items), longest), PAD_ID, dtype=torch.int64)\n",
                "    input_ids = torch.full((len(items), longest), UNK_ID, dtype=torch.int64)\n",
            ),
        ),
        "fills the padding with <unk> (1) instead of <pad> (0)",
    ),
    Variant(
        "collate-key-label",
        "data",
        (
            _data(
                _RETURN_BATCH,
                '    return {"input_ids": input_ids, "attention_mask": attention_mask, "label": labels}\n',
            ),
        ),
        "names the labels' key 'label'",
    ),
    # ---- Step 1 (data): the loaders -------------------------------------------------------------------------------
    Variant(
        "loaders-without-collate",
        "data",
        (
            _data(_TRAIN_LOADER, "        DataLoader(trainset, batch_size=train_bs, shuffle=True),\n"),
            _data(_EVAL_LOADER, "        DataLoader(evalset, batch_size=eval_bs, shuffle=False),\n"),
        ),
        "no collate_fn: the default collate cannot stack texts of different lengths",
    ),
    Variant(
        "loaders-eval-shuffled",
        "data",
        (
            _data(
                _EVAL_LOADER,
                "        DataLoader(evalset, batch_size=eval_bs, shuffle=True, collate_fn=collate_batch),\n",
            ),
        ),
        "the eval loader shuffles",
    ),
    Variant(
        "loaders-train-not-shuffled",
        "data",
        (_data(_TRAIN_LOADER, "        DataLoader(trainset, batch_size=train_bs, collate_fn=collate_batch),\n"),),
        "the train loader does not shuffle",
    ),
    # ---- Step 2 (model) -------------------------------------------------------------------------------------------
    Variant(
        "pool-over-padding",
        "model",
        (_model(_POOL, "    return embeddings.mean(dim=1)\n"),),
        "averages over every position, padding included",
    ),
    Variant(
        "pool-empty-text-nan",
        "model",
        (_model("    count = mask.sum(dim=1).clamp(min=1)\n", "    count = mask.sum(dim=1)\n"),),
        "no clamp: an empty text averages to nan",
    ),
    Variant(
        "pool-divides-by-length",
        "model",
        (_model("    count = mask.sum(dim=1).clamp(min=1)\n", "    count = embeddings.shape[1]\n"),),
        "divides the masked sum by the padded length T",
    ),
    Variant(
        "embedding-without-padding-idx",
        "model",
        (_model(_EMBEDDING, "        self.embedding = nn.Embedding(vocab_size, embed_dim)\n"),),
        "no padding_idx: <pad>'s row starts random",
    ),
    Variant(
        "forward-short-argument-names",
        "model",
        (
            _model(
                "    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:\n",
                "    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:\n",
            ),
            _model(
                _FORWARD,
                "        pooled = masked_mean(self.embedding(ids), mask)\n        return self.classifier(pooled)\n",
            ),
        ),
        "forward(self, ids, mask): model(**batch) cannot pass input_ids and attention_mask",
    ),
    Variant(
        "forward-returns-probabilities",
        "model",
        (
            _model(
                "        return self.classifier(pooled)\n",
                "        return torch.softmax(self.classifier(pooled), dim=1)\n",
            ),
        ),
        "softmax at the end of forward",
    ),
    Variant(
        "forward-ignores-mask",
        "model",
        (_model(_FORWARD, "        return self.classifier(self.embedding(input_ids).mean(dim=1))\n"),),
        "forward averages over every position instead of calling masked_mean",
    ),
    Variant(
        "missing-super-init",
        "model",
        (_model("        super().__init__()\n", ""),),
        "forgets super().__init__()",
    ),
    Variant(
        "extra-hidden-layer",
        "model",
        (
            _model(
                "        self.classifier = nn.Linear(embed_dim, num_classes)\n",
                "        self.hidden = nn.Linear(embed_dim, embed_dim)\n"
                "        self.classifier = nn.Linear(embed_dim, num_classes)\n",
            ),
            _model(
                "        return self.classifier(pooled)\n",
                "        return self.classifier(torch.relu(self.hidden(pooled)))\n",
            ),
        ),
        "adds a hidden layer the contract does not have",
    ),
    # ---- Step 3 (training) ----------------------------------------------------------------------------------------
    Variant(
        "train-labels-left-in-batch",
        "train",
        (_train(_POP, '        labels = batch["labels"]\n'),),
        "reads the labels without taking them out: model(**batch) passes labels= to forward",
    ),
    Variant(
        "train-unpacks-batch",
        "train",
        (
            _train(
                "    for batch in loader:\n" + _MOVE,
                "    for input_ids, attention_mask, labels in loader:\n"
                "        batch = {\n"
                '            "input_ids": input_ids.to(device),\n'
                '            "attention_mask": attention_mask.to(device),\n'
                '            "labels": labels.to(device),\n'
                "        }\n",
            ),
        ),
        "unpacks each batch like hw1's (x, y): a dict unpacks to its keys",
    ),
    Variant(
        "train-no-zero-grad",
        "train",
        (_train("        optimizer.zero_grad()\n", ""),),
        "gradients accumulate across batches",
    ),
    Variant(
        "train-step-before-backward",
        "train",
        (
            _train(
                "        loss.backward()\n" + _CLIP + "        optimizer.step()\n",
                "        optimizer.step()\n        loss.backward()\n" + _CLIP,
            ),
        ),
        "optimizer.step() before loss.backward()",
    ),
    Variant(
        "train-clip-before-backward",
        "train",
        (
            _train(
                "        loss = loss_fn(output, labels)\n        loss.backward()\n" + _CLIP,
                "        loss = loss_fn(output, labels)\n" + _CLIP + "        loss.backward()\n",
            ),
        ),
        "clips before backward, when there is no gradient yet",
    ),
    Variant(
        "train-clip-after-step",
        "train",
        (_train(_CLIP + "        optimizer.step()\n", "        optimizer.step()\n" + _CLIP),),
        "clips after the step, when the gradients were already used",
    ),
    Variant(
        "train-clip-value",
        "train",
        (
            _train(
                "            nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)\n",
                "            nn.utils.clip_grad_value_(model.parameters(), max_grad_norm)\n",
            ),
        ),
        "clip_grad_value_ instead of clip_grad_norm_",
    ),
    Variant(
        "train-clips-always",
        "train",
        (
            _train(
                _CLIP,
                "        nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm or 1.0)\n",
            ),
        ),
        "clips at 1.0 when max_grad_norm is None",
    ),
    Variant(
        "train-labels-not-moved",
        "train",
        (
            _train(
                _MOVE + "        # forward() takes input_ids and attention_mask only: labels go to the loss.\n" + _POP,
                _POP + _MOVE,
            ),
        ),
        "takes the labels out before moving the batch: the labels stay on the CPU",
    ),
    Variant(
        "train-no-train-mode",
        "train",
        (_train("    model.train()\n    total_loss, n_samples = 0.0, 0\n", "    total_loss, n_samples = 0.0, 0\n"),),
        "never calls model.train()",
    ),
    Variant(
        "train-mean-of-batch-losses",
        "train",
        (
            _train("        total_loss += loss.item() * len(labels)\n", "        total_loss += loss.item()\n"),
            _train("        n_samples += len(labels)\n", "        n_samples += 1\n"),
        ),
        "returns the plain mean of the batch losses",
    ),
    Variant(
        "train-epoch-loss-tensor",
        "train",
        (_train("        total_loss += loss.item() * len(labels)\n", "        total_loss += loss * len(labels)\n"),),
        "adds up the loss tensors, so train_one_epoch returns a tensor, not a float",
    ),
    Variant(
        "train-loss-arguments-swapped",
        "train",
        (_train("        loss = loss_fn(output, labels)\n", "        loss = loss_fn(labels, output)\n"),),
        "the slide's slip: loss_fn(labels, output), the gold labels first",
    ),
    Variant(
        "train-forgets-max-grad-norm",
        "train",
        (_train(_TRAIN_CALL, "        train_one_epoch(model, train_loader, loss_fn, optimizer, device)\n"),),
        "train does not pass max_grad_norm on",
    ),
    Variant(
        "train-loss-gold-first",
        "train",
        (_train("        loss = loss_fn(output, labels)\n", "        loss = loss_fn(labels, output)\n"),),
        "the slide's loss_function(gold, output)",
    ),
    # ---- Step 4 (evaluation) --------------------------------------------------------------------------------------
    Variant(
        "predict-no-eval-mode",
        "evaluate",
        (_evaluate("    model.eval()\n", ""),),
        "never calls model.eval()",
    ),
    Variant(
        "predict-tracks-gradients",
        "evaluate",
        (
            _evaluate(
                _PREDICT_LOOP,
                "    model.eval()\n"
                "    predictions: list[int] = []\n"
                "    labels: list[int] = []\n"
                "    for batch in loader:\n"
                "        batch = {key: value.to(device) for key, value in batch.items()}\n"
                '        gold = batch.pop("labels")\n'
                "        output = model(**batch)\n"
                "        predictions.extend(output.argmax(dim=1).tolist())\n"
                "        labels.extend(gold.tolist())\n",
            ),
        ),
        "no torch.no_grad()",
    ),
    Variant(
        "predict-labels-left-in-batch",
        "evaluate",
        (_evaluate('            gold = batch.pop("labels")\n', '            gold = batch["labels"]\n'),),
        "model(**batch) with the labels still in it",
    ),
    Variant(
        "predict-not-moved",
        "evaluate",
        (_evaluate("            batch = {key: value.to(device) for key, value in batch.items()}\n", ""),),
        "never moves the batch to the device",
    ),
    Variant(
        "predict-argmax-over-batch",
        "evaluate",
        (_evaluate("output.argmax(dim=1)", "output.argmax(dim=0)"),),
        "argmax over the samples of a batch",
    ),
    Variant(
        "evaluate-micro-f1",
        "evaluate",
        (_evaluate(_F1, '        "macro_f1": float(f1_score(labels, predictions, average="micro")),\n'),),
        "average='micro' (the accuracy again)",
    ),
    Variant(
        "evaluate-weighted-f1",
        "evaluate",
        (_evaluate(_F1, '        "macro_f1": float(f1_score(labels, predictions, average="weighted")),\n'),),
        "average='weighted'",
    ),
    Variant(
        "evaluate-accuracy-percent",
        "evaluate",
        (_evaluate(_ACCURACY, '        "accuracy": 100 * float(accuracy_score(labels, predictions)),\n'),),
        "accuracy as a percentage",
    ),
)


CORRECT: tuple[Variant, ...] = (
    Variant(
        "tokenize-character-loop",
        None,
        (
            _data(
                _TOKENIZE,
                "    tokens, word = [], ''\n"
                "    for char in text.lower():\n"
                "        if char.isalnum() or char == '_':\n"
                "            word += char\n"
                "            continue\n"
                "        if word:\n"
                "            tokens.append(word)\n"
                "            word = ''\n"
                "        if not char.isspace():\n"
                "            tokens.append(char)\n"
                "    if word:\n"
                "        tokens.append(word)\n"
                "    return tokens\n",
            ),
        ),
        "a character loop with str.isalnum() and str.isspace() instead of a regular expression",
    ),
    Variant(
        "read-rows-reader-with-header-lookup",
        None,
        (
            _data(
                _READ,
                "        reader = csv.reader(f)\n"
                "        header = next(reader)\n"
                '        text, label = header.index("text"), header.index("label")\n'
                "        return [(row[text], int(row[label])) for row in reader]\n",
            ),
        ),
        "csv.reader and the header's column positions instead of DictReader",
    ),
    Variant(
        "vocab-dict-counts-and-sorted",
        None,
        (
            _data(
                _COUNT
                + _KEEP
                + "    # Ties in alphabetical order: the ids do not depend on the order of the texts.\n"
                + _SORT
                + _NUMBER,
                "    counts: dict[str, int] = {}\n"
                "    for text in texts:\n"
                "        for token in tokenize(text):\n"
                "            counts[token] = counts.get(token, 0) + 1\n"
                "    ranked = sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))\n"
                '    vocab = {"<pad>": PAD_ID, "<unk>": UNK_ID}\n'
                "    for token, count in ranked:\n"
                "        if count >= min_freq:\n"
                "            vocab[token] = len(vocab)\n"
                "    return vocab\n",
            ),
        ),
        "a plain dict of counts, sorted items and ids from len(vocab)",
    ),
    Variant(
        "vocab-most-common-then-stable-sort",
        None,
        (
            _data(
                _KEEP + "    # Ties in alphabetical order: the ids do not depend on the order of the texts.\n" + _SORT,
                "    ranked = sorted(counts.most_common(), key=lambda pair: pair[0])\n"
                "    ranked.sort(key=lambda pair: pair[1], reverse=True)\n"
                "    kept = [token for token, count in ranked if count >= min_freq]\n",
            ),
        ),
        "sorts alphabetically, then stably by count (descending): ties stay alphabetical",
    ),
    Variant(
        "encode-loop-with-in",
        None,
        (
            _data(
                _ENCODE,
                "    ids = []\n"
                "    for token in tokenize(text):\n"
                "        ids.append(vocab[token] if token in vocab else UNK_ID)\n"
                "    return ids\n",
            ),
        ),
        "an explicit loop and `in` instead of dict.get",
    ),
    Variant(
        "dataset-encodes-lazily",
        None,
        (
            _data(
                "        self.items = [\n"
                "            (\n"
                "                # dtype given: torch.tensor([]) of an empty text would be float32.\n"
                + _ITEM_IDS
                + _ITEM_LABEL
                + "            )\n"
                "            for text, label in read_rows(csv_path)\n"
                "        ]\n",
                "        self.rows = read_rows(csv_path)\n        self.vocab = vocab\n",
            ),
            _data(
                "        return self.items[index]\n",
                "        text, label = self.rows[index]\n"
                "        ids = torch.as_tensor(encode(text, self.vocab), dtype=torch.long)\n"
                "        return ids, torch.as_tensor(label)\n",
            ),
            _data("        return len(self.items)\n", "        return len(self.rows)\n"),
        ),
        "keeps the rows and encodes in __getitem__",
    ),
    Variant(
        "collate-pad-sequence",
        None,
        (
            _data(
                _COLLATE,
                "    sequences = [ids for ids, _ in items]\n"
                "    input_ids = torch.nn.utils.rnn.pad_sequence(\n"
                "        sequences, batch_first=True, padding_value=PAD_ID\n"
                "    )\n"
                "    if input_ids.dim() == 1:  # every text empty: pad_sequence gives (B,)\n"
                "        input_ids = input_ids.view(len(items), 0)\n"
                "    lengths = torch.tensor([len(ids) for ids in sequences])\n"
                "    positions = torch.arange(input_ids.shape[1])\n"
                "    attention_mask = (positions < lengths.unsqueeze(1)).long()\n",
            ),
        ),
        "torch.nn.utils.rnn.pad_sequence and a mask from the lengths",
    ),
    Variant(
        "loaders-train-drop-last",
        None,
        (
            _data(
                _TRAIN_LOADER,
                "        DataLoader(\n"
                "            trainset, batch_size=train_bs, shuffle=True, collate_fn=collate_batch, drop_last=True\n"
                "        ),\n",
            ),
        ),
        "the train loader drops its last, shorter batch",
    ),
    Variant(
        "pool-masked-fill",
        None,
        (
            _model(
                _POOL,
                "    padding = ~attention_mask.bool().unsqueeze(-1)\n"
                "    total = embeddings.masked_fill(padding, 0.0).sum(dim=1)\n"
                "    count = attention_mask.sum(dim=1, keepdim=True).float()\n"
                "    return total / torch.maximum(count, torch.ones_like(count))\n",
            ),
        ),
        "masked_fill and torch.maximum instead of a multiplication and clamp",
    ),
    Variant(
        "model-embedding-bag",
        None,
        (
            _model(
                _EMBEDDING,
                '        self.embedding = nn.EmbeddingBag(vocab_size, embed_dim, mode="mean", padding_idx=0)\n',
            ),
            _model(_FORWARD, "        return self.classifier(self.embedding(input_ids))\n"),
        ),
        "nn.EmbeddingBag(mode='mean', padding_idx=0) averages over the non-padding ids itself",
    ),
    Variant(
        "train-explicit-keywords",
        None,
        (
            _train(
                "        optimizer.zero_grad()\n"
                "        output = model(**batch)\n"
                "        loss = loss_fn(output, labels)\n",
                "        optimizer.zero_grad()\n"
                '        output = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])\n'
                "        loss = loss_fn(output, labels)\n",
            ),
        ),
        "names both inputs instead of model(**batch)",
    ),
    Variant(
        "train-sum-of-losses-over-dataset",
        None,
        (
            _train(
                "        total_loss += loss.item() * len(labels)\n"
                "        n_samples += len(labels)\n"
                "    return total_loss / n_samples\n",
                "        total_loss += loss.item() * labels.shape[0]\n    return total_loss / len(loader.dataset)\n",
            ),
            _train("    total_loss, n_samples = 0.0, 0\n", "    total_loss = 0.0\n"),
        ),
        "divides by len(loader.dataset) instead of counting the samples",
    ),
    Variant(
        "train-clip-with-explicit-norm",
        None,
        (
            _train(
                "            nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)\n",
                "            grads = [p.grad for p in model.parameters() if p.grad is not None]\n"
                "            norm = torch.sqrt(sum((g**2).sum() for g in grads))\n"
                "            scale = max_grad_norm / (norm + 1e-6)\n"
                "            if scale < 1:\n"
                "                for g in grads:\n"
                "                    g.mul_(scale)\n",
            ),
        ),
        "clips by hand with the total norm, as clip_grad_norm_ does",
    ),
    Variant(
        "predict-concatenates-tensors",
        None,
        (
            _evaluate(
                "    return _predict_with_labels(model, loader, device)[0]\n",
                "    model.eval()\n"
                "    chunks = []\n"
                "    with torch.no_grad():\n"
                "        for batch in loader:\n"
                '            inputs = {k: v.to(device) for k, v in batch.items() if k != "labels"}\n'
                "            chunks.append(model(**inputs).argmax(dim=1).cpu())\n"
                "    return torch.cat(chunks).tolist()\n",
            ),
        ),
        "a loop of its own that leaves the labels out of a new dict and concatenates the predictions",
    ),
    Variant(
        "evaluate-macro-f1-by-hand",
        None,
        (
            _evaluate(
                _F1,
                '        "macro_f1": _macro_f1(labels, predictions),\n',
            ),
            _evaluate(
                "def predict(\n",
                "def _macro_f1(labels: list[int], predictions: list[int]) -> float:\n"
                "    scores = []\n"
                "    for c in sorted(set(labels) | set(predictions)):\n"
                "        tp = sum(p == c and y == c for p, y in zip(predictions, labels))\n"
                "        fp = sum(p == c and y != c for p, y in zip(predictions, labels))\n"
                "        fn = sum(p != c and y == c for p, y in zip(predictions, labels))\n"
                "        scores.append(2 * tp / (2 * tp + fp + fn))\n"
                "    return sum(scores) / len(scores)\n"
                "\n\n"
                "def predict(\n",
            ),
        ),
        "macro-F1 from the per-class counts instead of sklearn",
    ),
    Variant(
        "evaluate-zero-division",
        None,
        (
            _evaluate(
                _F1, '        "macro_f1": float(f1_score(labels, predictions, average="macro", zero_division=0)),\n'
            ),
        ),
        "f1_score with zero_division=0",
    ),
    Variant(
        "evaluate-more-keys",
        None,
        (_evaluate(_F1, _F1 + '        "samples": len(labels),\n'),),
        "the dict holds the number of samples too",
    ),
    Variant(
        "train-model-zero-grad-keeps-zeros",
        None,
        (_train("        optimizer.zero_grad()\n", "        model.zero_grad(set_to_none=False)\n"),),
        "model.zero_grad(set_to_none=False): zeroed gradients instead of none, through the model",
    ),
    Variant(
        "vocab-ordered-dict",
        None,
        (
            _data(
                _NUMBER,
                "    return OrderedDict((token, index) for index, token in enumerate([*SPECIALS, *kept]))\n",
            ),
            _data("from collections import Counter\n", "from collections import Counter, OrderedDict\n"),
        ),
        "returns an OrderedDict",
    ),
)

# ---------------------------------------------------------------------------------------------------------------------
# Work not done, or a bug dressed up (grader.checks.hw2.audit.forgeries): a step that computes nothing, with or
# without records written onto the grader's models, must get no points in that step; a mode left out with the
# records forged must lose its points as the bare bug does.
# ---------------------------------------------------------------------------------------------------------------------

BUGGY += (
    *(replace(variant, no_points_in=(variant.step,)) for variant in forgeries.FORGED_STEPS),
    forgeries.TRAIN_MODE_FORGED,
    forgeries.EVAL_MODE_FORGED,
    *forgeries.MODEL_FORGED,
)
