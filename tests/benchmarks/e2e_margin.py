"""How far above the end-to-end check's bar a correct pipeline lands, over many seeds and grading keys.

    python tests/benchmarks/e2e_margin.py [--seeds N] [EPOCHSxBATCH@LR ...]

The end-to-end check (grader/checks/hw1/test_end_to_end.py) trains the student's own
pipeline once, with fixed seeds; but correct pipelines differ (how the split is drawn,
how the loader shuffles), and each one is in effect one draw of the seeds. Which digits
are held out, and their pixel noise, come from the grading key, which changes per batch
or per course. This trains a correct pipeline (the digits as the check gives them, an
80/10/10 split, shuffled batches, Linear-ReLU-Linear, Adam) for N seeds per
configuration, seed i with its own key, and prints the held-out accuracy's minimum, 1st
and 5th percentiles and median, and how many seeds end under the bar. Without
arguments it measures the check's own configuration. Pixels come from the same
lossless values the PNG files hold, without the files: the accuracies are those of the
check, in a fraction of its time.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, Subset, TensorDataset

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from grader.checks.hw1 import digits_support as e2e_digits
from grader.checks.hw1 import test_end_to_end as e2e


def _data(seed: int) -> tuple[TensorDataset, tuple[torch.Tensor, torch.Tensor]]:
    """The training pool and the held-out digits of the grading key that seed ``seed`` stands for."""
    held = e2e_digits._held_out(hashlib.sha256(f"e2e margin key {seed}".encode()).digest())
    images, labels = e2e_digits.digits()
    pool = list(held.pool)
    pixels = torch.from_numpy(e2e_digits.features(images[pool], held.mean, held.scale))
    classes = torch.tensor(held.classes)
    return TensorDataset(pixels, classes[torch.from_numpy(labels[pool])]), (held.features, held.labels)


def _accuracy(config: tuple[int, int, float], seed: int) -> float:
    train, held = _data(seed)
    epochs, batch, lr = config
    order = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed)).tolist()
    part = Subset(train, order[: int(0.8 * len(train))])
    torch.manual_seed(seed * 7919 + 1)
    loader = DataLoader(part, batch_size=batch, shuffle=True)
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    for _ in range(epochs):
        for x, y in loader:
            optimizer.zero_grad()
            loss_fn(model(x), y).backward()
            optimizer.step()
    with torch.no_grad():
        return (model(held[0]).argmax(dim=1) == held[1]).double().mean().item()


def _parse(text: str) -> tuple[int, int, float]:
    sizes, _, lr = text.partition("@")
    epochs, batch = sizes.split("x")
    return int(epochs), int(batch), float(lr or e2e._LR)


def main() -> None:
    """Print the accuracy distribution of each configuration."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=1000)
    parser.add_argument("configs", nargs="*", help="EPOCHSxBATCH@LR, e.g. 5x32@5e-3 (default: the check's)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    configs = [_parse(text) for text in args.configs] or [(e2e._EPOCHS, e2e._TRAIN_BATCH, e2e._LR)]
    for config in configs:
        accuracies = sorted(_accuracy(config, seed) for seed in range(args.seeds))
        n = len(accuracies)
        print(
            f"{config[0]} epochs x batch {config[1]}, lr {config[2]:g}, {n} seeds (a key each): "
            f"min {accuracies[0]:.3f}, 1% {accuracies[n // 100]:.3f}, 5% {accuracies[n // 20]:.3f}, "
            f"median {statistics.median(accuracies):.3f}; under {e2e._BAR}: {sum(a < e2e._BAR for a in accuracies)}, "
            f"under {e2e._BAR + 0.01:.2f}: {sum(a < e2e._BAR + 0.01 for a in accuracies)}"
        )


if __name__ == "__main__":
    main()
