"""How far above hw2's end-to-end bar a correct pipeline lands, over many tasks and seeds.

    python tests/benchmarks/e2e_margin_hw2.py [--seeds N]

hw2's end-to-end check (grader/checks/hw2/test_end_to_end.py) draws its task from a seed derived from the
staff key, and a correct pipeline's result depends on that task and on how its own loader shuffles. This
runs the reference solution's pipeline, configured as the check configures it, on N tasks (N seeds), and
computes the held-out accuracy as the check does (the trusted side's tokenizer and encoding with the
trained vocabulary and weights). It prints the minimum, the 5th percentile and the median, how many seeds
end under the bar, and the CPU seconds of one training.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "solutions" / "hw2")]

import data  # noqa: E402 (the reference solution's modules, from the path set just above)
import model as model_py  # noqa: E402
import train as train_py  # noqa: E402

from grader.checks.hw2 import test_end_to_end as e2e  # noqa: E402
from grader.checks.hw2 import textdata  # noqa: E402


def _accuracy(seed: int, folder: Path) -> tuple[float, float]:
    """Held-out accuracy and CPU seconds of the reference pipeline on the task of ``seed``."""
    task = textdata.generate(seed, e2e._TRAIN, e2e._HELD_OUT)
    path = folder / f"train_{seed}.csv"
    path.write_text(textdata.to_csv(task.train), encoding="utf-8")
    started = time.process_time()
    torch.manual_seed(seed)
    vocab = data.build_vocab([text for text, _ in data.read_rows(path)], min_freq=e2e._MIN_FREQ)
    dataset = data.TextDataset(path, vocab)
    loader, _ = data.make_loaders(dataset, dataset, e2e._TRAIN_BATCH, e2e._EVAL_BATCH)
    model = model_py.TextClassifier(len(vocab), e2e._DIM, e2e._CLASSES)
    optimizer = torch.optim.Adam(model.parameters(), lr=e2e._LR)
    train_py.train(model, loader, torch.nn.CrossEntropyLoss(), optimizer, e2e._EPOCHS, max_grad_norm=e2e._CLIP)
    seconds = time.process_time() - started
    params = {name: value.detach() for name, value in model.named_parameters()}
    return e2e.held_out_accuracy(params, vocab, task.held_out), seconds  # the check's own computation


def main() -> None:
    """Print the accuracy distribution over the seeds."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=200)
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        results = [_accuracy(seed, Path(tmp)) for seed in range(args.seeds)]
    accuracies = sorted(accuracy for accuracy, _ in results)
    n, median = len(accuracies), statistics.median(accuracies)
    print(
        f"{n} tasks: min {accuracies[0]:.3f}, 5% {accuracies[n // 20]:.3f}, median {median:.3f}; "
        f"under {e2e._BAR}: {sum(a < e2e._BAR for a in accuracies)}; "
        f"training: {statistics.median(seconds for _, seconds in results):.2f} s of CPU (median)"
    )


if __name__ == "__main__":
    main()
