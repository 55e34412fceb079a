"""Step 4 (Evaluation): predictions and accuracy without gradients.

Slide: Step 4 Write the evaluation process.

Replace every ``raise NotImplementedError`` below.
"""

import torch
from sklearn.metrics import accuracy_score
from torch import nn
from torch.utils.data import DataLoader


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
    raise NotImplementedError("Step 4: predict in eval mode under torch.no_grad()")


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
    raise NotImplementedError(
        "Step 4: compare predictions with the labels using accuracy_score"
    )
