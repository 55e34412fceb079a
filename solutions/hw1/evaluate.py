"""Step 4 (Evaluation): predictions and accuracy without gradients.

Slide: Step 4 Write the evaluation process.
"""

import torch
from sklearn.metrics import accuracy_score
from torch import nn
from torch.utils.data import DataLoader


# BEGIN SOLUTION
def _predict_with_labels(
    model: nn.Module, loader: DataLoader, device: str | torch.device
) -> tuple[list[int], list[int]]:
    """Return (predictions, labels) from a single pass over ``loader``."""
    # One pass pairs each prediction with its own label even if the loader shuffles.
    model.eval()
    predictions: list[int] = []
    labels: list[int] = []
    with torch.no_grad():
        for x, y in loader:
            output = model(x.to(device))
            predictions.extend(output.argmax(dim=1).tolist())
            labels.extend(y.tolist())
    return predictions, labels


# END SOLUTION


def predict(
    model: nn.Module, loader: DataLoader, device: str | torch.device = "cpu"
) -> list[int]:
    """Return the predicted class index of every sample, in loader order.

    - Put the model in evaluation mode (``model.eval()``) and run it under
      ``torch.no_grad()``: no gradients are needed to predict.
    - Move each batch's ``x`` to ``device``; the prediction for a sample is the
      argmax of its logits over the class dimension (``dim=1``).
    - Return a list of Python ints (a 1-D tensor is also accepted), one per
      sample, in the order the loader yields them.

    Slide: Step 4 Write the evaluation process.
    """
    # PROMPT: Step 4: predict in eval mode under torch.no_grad()
    # BEGIN SOLUTION
    return _predict_with_labels(model, loader, device)[0]
    # END SOLUTION


def evaluate(
    model: nn.Module, loader: DataLoader, device: str | torch.device = "cpu"
) -> float:
    """Return the accuracy of ``model`` on ``loader``, a fraction in [0, 1].

    Compare the predictions (as in ``predict``: eval mode, no gradients,
    ``x`` moved to ``device``, argmax over classes) with the labels ``y`` the
    loader yields, e.g. with
    ``sklearn.metrics.accuracy_score(labels, predictions)``. 0.9 means 90%
    correct, not 90.

    Slide: Step 4 Write the evaluation process (``accuracy_score``).
    """
    # PROMPT: Step 4: compare predictions with the labels using accuracy_score
    # BEGIN SOLUTION
    predictions, labels = _predict_with_labels(model, loader, device)
    return float(accuracy_score(labels, predictions))
    # END SOLUTION
