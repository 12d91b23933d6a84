"""Training runs: many at once (:func:`train_chunk`) or one by one (:func:`train_plain`).

Both draw each run's data the same way (:func:`run_batches`: the run's own train subset and
shuffle per epoch, from its seed), so a stacked chunk and a plain loop started from the same
weights follow the same path; ``tests/test_builder_training.py`` checks that they do.

Loss per network: mean cross-entropy over the batch plus ``l2 * sum(kernel ** 2)`` (Keras'
kernel regulariser; the stacked trainer adds its gradient ``2 * l2 * kernel`` directly). An epoch is one pass over the run's train subset in full batches.
Checkpoint ``e`` holds the weights after ``e`` epochs (0 = initial weights), with test loss and
accuracy, the accuracies of the two fixed halves of the test set, and train loss and accuracy
on up to :data:`TRAIN_EVAL_SIZE` images of the run's own train subset.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from nnenc.architectures import Architecture
from nnenc.builder.optimizers import MOMENTUM, StackedOptimizer
from nnenc.builder.stacked import StackedNetworks
from nnenc.datasets import ImageDataset
from nnenc.precision import autocast as precision_autocast
from nnenc.precision import resolve_precision

TRAIN_EVAL_SIZE = 500
EVAL_BATCH = 500


def train_subset(seed: int, n_train: int, fraction: float) -> np.ndarray:
    """The indices of the training images a run may see."""
    order = np.random.default_rng([int(seed), 0]).permutation(n_train)
    return np.sort(order[: max(1, round(fraction * n_train))])


def run_batches(
    seed: int, n_train: int, fraction: float, epoch: int, batch_size: int
) -> np.ndarray:
    """``(steps, batch_size)`` image indices for epoch ``epoch`` (0-based) of one run."""
    subset = train_subset(seed, n_train, fraction)
    order = subset[np.random.default_rng([int(seed), 1, epoch]).permutation(len(subset))]
    steps = max(1, len(order) // batch_size)
    return order[: steps * batch_size].reshape(steps, batch_size)


def _chunk_batches(runs: pd.DataFrame, n_train: int, epoch: int, batch_size: int):
    """``(K, steps, B)`` indices for one epoch of every run (padded), and each run's steps."""
    per_run = [
        run_batches(r.seed, n_train, r.train_fraction, epoch, batch_size)
        for r in runs.itertuples(index=False)
    ]
    steps = np.array([len(b) for b in per_run])
    batches = np.zeros((len(per_run), steps.max(), batch_size), dtype=np.int64)
    for k, b in enumerate(per_run):
        batches[k, : len(b)] = b
    return torch.from_numpy(batches), steps


def _loss_and_correct(logits: torch.Tensor, labels: torch.Tensor):
    """Per network and example: cross-entropy and correctness; logits ``(K, B, C)``."""
    k, b, c = logits.shape
    labels = labels.expand(k, b) if labels.dim() == 1 else labels
    loss = F.cross_entropy(logits.reshape(k * b, c).float(), labels.reshape(-1), reduction="none")
    correct = logits.argmax(-1) == labels
    return loss.view(k, b), correct


@torch.no_grad()
def evaluate(
    net: StackedNetworks, runs: pd.DataFrame, data: ImageDataset, device: torch.device
) -> dict[str, np.ndarray]:
    """Test and train metrics of every network, each ``(K,)``."""
    losses, corrects = [], []
    for start in range(0, len(data.test_labels), EVAL_BATCH):
        images = data.test_images[start : start + EVAL_BATCH].to(device)
        labels = data.test_labels[start : start + EVAL_BATCH].to(device)
        loss, correct = _loss_and_correct(net.forward(images), labels)
        losses.append(loss)
        corrects.append(correct)
    loss, correct = torch.cat(losses, 1), torch.cat(corrects, 1).float()
    half = correct.shape[1] // 2
    n_train = len(data.train_labels)
    subsets = [
        train_subset(r.seed, n_train, r.train_fraction)[:TRAIN_EVAL_SIZE]
        for r in runs.itertuples(index=False)
    ]
    size = min(len(s) for s in subsets)
    index = torch.from_numpy(np.stack([s[:size] for s in subsets]))
    train_loss, train_correct = _loss_and_correct(
        net.forward(data.train_images[index].to(device)), data.train_labels[index].to(device)
    )
    metrics = {
        "test_loss": loss.mean(1),
        "test_accuracy": correct.mean(1),
        "test_accuracy_half1": correct[:, :half].mean(1),
        "test_accuracy_half2": correct[:, half:].mean(1),
        "train_loss": train_loss.mean(1),
        "train_accuracy": train_correct.float().mean(1),
    }
    return {name: value.cpu().double().numpy() for name, value in metrics.items()}


def train_chunk(
    architecture: Architecture,
    runs: pd.DataFrame,
    data: ImageDataset,
    epochs: int,
    checkpoints: Sequence[int],
    batch_size: int = 32,
    device: str | torch.device = "cpu",
    precision: str = "fp32",
    dropout_seed: int = 0,
    initial: torch.Tensor | None = None,
    evaluate_checkpoints: bool = True,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Train the runs of one chunk together (same activation and optimiser).

    Args:
        runs: one row per run (``seed``, ``activation``, ``optimizer``, ``learning_rate``,
            ``l2``, ``dropout``, ``train_fraction``, ``w_init``, ``init_std``).
        checkpoints: epochs at which to store weights and metrics (0 = before training).
        precision: ``"fp32"``, ``"bf16"`` (bfloat16 autocast of the forward pass), or ``"auto"``
            (bf16 where ``device`` runs it natively and faster: :mod:`nnenc.precision`).
        dropout_seed: seeds the chunk's dropout masks.
        initial: ``(K, P)`` starting weights instead of the runs' initialisers.
        evaluate_checkpoints: compute the metrics of each checkpoint (off: weights only, for
            timing training alone).

    Returns:
        ``(metrics, weights)``: a row per (run, checkpoint) with the run's hyperparameters and
        ``epoch``, and the matching ``(rows, P)`` float32 weights.
    """
    device = torch.device(device)
    optimizers = set(runs["optimizer"])
    if len(optimizers) != 1:
        raise ValueError(f"a chunk shares one optimizer; got {sorted(optimizers)}")
    # Networks with more steps per epoch first: at every step the networks still training are
    # a prefix, so a step runs and updates exactly them (no idle compute, no masking).
    order = np.argsort(-runs["train_fraction"].to_numpy(), kind="stable")
    unsort = np.argsort(order)
    runs = runs.iloc[order].reset_index(drop=True)
    if initial is None:
        net = StackedNetworks.initialise(architecture, runs)
    else:
        dropout = torch.tensor(runs["dropout"].to_numpy(dtype=np.float32))
        net = StackedNetworks(architecture, initial[order], runs["activation"].iloc[0], dropout)
    net = net.to(device)
    lr = torch.tensor(runs["learning_rate"].to_numpy(dtype=np.float32))
    l2 = torch.tensor(runs["l2"].to_numpy(dtype=np.float32), device=device)
    optimizer = StackedOptimizer(optimizers.pop(), lr, net.params)
    generator = torch.Generator(device=device).manual_seed(int(dropout_seed))
    train_images, train_labels = data.train_images.to(device), data.train_labels.to(device)
    autocast = precision_autocast(resolve_precision(precision, device), device)

    tables, weights = [], []
    for epoch in range(epochs + 1):
        if epoch in set(checkpoints):
            metrics = evaluate(net, runs, data, device) if evaluate_checkpoints else {}
            table = runs.assign(epoch=epoch, **metrics).iloc[unsort]
            tables.append(table.reset_index(drop=True))
            weights.append(net.flat().float().cpu().numpy()[unsort])
        if epoch == epochs:
            break
        batches, steps = _chunk_batches(runs, len(train_labels), epoch, batch_size)
        batches = batches.to(device)
        for step in range(batches.shape[1]):
            count = int((steps > step).sum())
            index = batches[:count, step]
            with autocast:
                logits = net.forward(train_images[index], generator, count)
            loss, _ = _loss_and_correct(logits, train_labels[index])
            (gradient,) = torch.autograd.grad(loss.mean(1).sum(), net.params)
            optimizer.step(gradient[:count].add_(net.l2_gradient(l2, count)), count)
    return pd.concat(tables, ignore_index=True), np.concatenate(weights)


def train_plain(
    architecture: Architecture,
    run: pd.Series,
    data: ImageDataset,
    epochs: int,
    batch_size: int = 32,
    initial: torch.Tensor | None = None,
) -> torch.Tensor:
    """The reference: one run in a plain loop with ``torch.optim``; returns flat weights.

    Dropout is applied with the module's own ``nn.Dropout``; to compare with
    :func:`train_chunk` exactly, use runs with zero dropout.
    """
    from nnenc.params import NetworkParams

    if initial is None:
        initial = StackedNetworks.initialise(architecture, run.to_frame().T.infer_objects()).flat()[
            0
        ]
    params = NetworkParams.from_flat(initial, architecture.layout(), architecture.name)
    module = architecture.build(run["activation"], float(run["dropout"]))
    module.load_state_dict({k: v.clone() for k, v in params.state_dict().items()})
    module.train()
    lr = float(run["learning_rate"])
    optimizer = {
        "sgd": lambda p: torch.optim.SGD(p, lr=lr),
        "momentum": lambda p: torch.optim.SGD(p, lr=lr, momentum=MOMENTUM),
        "adam": lambda p: torch.optim.Adam(p, lr=lr),
    }[run["optimizer"]](module.parameters())
    kernels = [
        m.weight for m in module.modules() if isinstance(m, torch.nn.Conv2d | torch.nn.Linear)
    ]
    for epoch in range(epochs):
        for index in run_batches(
            run["seed"], len(data.train_labels), run["train_fraction"], epoch, batch_size
        ):
            index = torch.from_numpy(index)
            loss = F.cross_entropy(module(data.train_images[index]), data.train_labels[index])
            loss = loss + float(run["l2"]) * sum(w.pow(2).sum() for w in kernels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return NetworkParams.from_module(module).to_flat()
