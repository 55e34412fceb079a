"""Step 4 (Evaluation): predictions, accuracy and macro-F1 without gradients.

Slide: Step 4 Write the evaluation process.

Replace every ``raise NotImplementedError`` below.
"""

import torch
from sklearn.metrics import accuracy_score, f1_score
from torch import nn
from torch.utils.data import DataLoader


def predict(
    model: nn.Module, loader: DataLoader, device: str | torch.device = "cpu"
) -> list[int]:
    """Return the predicted class index of every sample, in loader order.

    - Put the model in evaluation mode (``model.eval()``) and run it under
      ``torch.no_grad()``.
    - For each dict batch: move its tensors to ``device``, take ``"labels"``
      out, ``output = model(**batch)``; the prediction for a sample is the argmax
      of its logits over the classes (``dim=1``).
    - Return a list of Python ints, one per sample, in the order the loader
      yields them.

    Slide: Step 4 Write the evaluation process.
    """
    raise NotImplementedError(
        "Step 4: predict in eval mode under torch.no_grad() with model(**batch)"
    )


def evaluate(
    model: nn.Module, loader: DataLoader, device: str | torch.device = "cpu"
) -> dict[str, float]:
    """Return ``{"accuracy": ..., "macro_f1": ...}`` of ``model`` on ``loader``.

    Make the predictions as in ``predict`` and compare them with the labels
    the loader yields for the same samples:

    - ``"accuracy"``: ``sklearn.metrics.accuracy_score(labels, predictions)``,
      a fraction in [0, 1];
    - ``"macro_f1"``: ``sklearn.metrics.f1_score(labels, predictions,
      average="macro")``: the F1 of each class, averaged with equal weights
      (a rare class counts as much as a frequent one).

    Both as Python floats.

    Slide: Step 4 Write the evaluation process (``accuracy_score``).
    """
    raise NotImplementedError("Step 4: accuracy and macro-F1 with sklearn.metrics")
