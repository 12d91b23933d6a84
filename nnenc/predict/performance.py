"""``PerformancePredictor``: any registered encoder plus a head, trained to predict a metrics
column (test accuracy by default) from a network's weights.

Training: AdamW, BCE on a sigmoid output (targets in [0, 1]) or MSE on standardised targets,
early stopping on the validation Kendall tau (the best epoch's weights are kept), a learning-rate
schedule (:mod:`nnenc.budget`: none, cosine or reduce-on-plateau), an optional
logit-invariance regulariser (the squared change of the prediction when the hidden neurons of
the input networks are randomly permuted), a progress bar with the running validation tau.
Precision ``auto`` (the default) trains and predicts in bf16 autocast where the device runs bf16
natively and faster than fp32 (:mod:`nnenc.precision`) and the encoder trains faster in it
(SNE), else in fp32; ``fp32`` and ``bf16`` force one. Same seed, same result, on the same
precision and instruction set. Saved as ``weights.safetensors`` + ``config.json``; never
pickled.
"""

from __future__ import annotations

import copy
import hashlib
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn
from tqdm.auto import tqdm

from nnenc.applicability import TrainingDomain
from nnenc.budget import best_epoch, ended_improving
from nnenc.encoders.base import EncoderInputError, create_encoder, encoder_class
from nnenc.io.atomic import atomic_path, write_json
from nnenc.io.decoding import read_json
from nnenc.io.errors import PredictorFileError
from nnenc.io.seals import check_seal, file_sha256, seal
from nnenc.metrics import (
    kendall_tau,
    prediction_metrics,
    reported_metrics,
    small_sample_caveat,
)
from nnenc.params import NetworkParams
from nnenc.precision import autocast, check_precision, resolve_precision
from nnenc.predict.training import TrainingConfig
from nnenc.symmetry import permute_hidden_neurons
from nnenc.version import package_version
from nnenc.zoo.zoo import Zoo

CONFIG = "config.json"
WEIGHTS = "weights.safetensors"


def training_precision(encoder: str, precision: str = "auto", device: str = "cpu") -> str:
    """What a predictor with encoder ``encoder`` computes in on ``device`` for the setting
    ``precision``: ``auto`` is bf16 only where the device runs bf16 natively and faster
    (:mod:`nnenc.precision`) and the encoder trains faster in it
    (``WeightEncoder.trains_faster_in_bf16``); fp32 otherwise."""
    check_precision(precision)
    if precision == "auto" and not encoder_class(encoder).trains_faster_in_bf16:
        return "fp32"
    return resolve_precision(precision, device)


def _scheduler(optimizer: torch.optim.Optimizer, settings: dict):
    """The learning-rate schedule ``settings`` name (:mod:`nnenc.budget`), or None."""
    if settings["schedule"] == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=settings["epochs"])
    if settings["schedule"] == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer,
            mode="max",
            factor=settings["schedule_factor"],
            patience=settings["schedule_patience"],
        )
    return None


def networks_of(
    source: Zoo | nn.Module | NetworkParams | Sequence[NetworkParams],
) -> list[NetworkParams]:
    """The networks of a zoo, a module, one NetworkParams or a sequence of them."""
    if isinstance(source, Zoo):
        return list(source)
    if isinstance(source, NetworkParams):
        return [source]
    if isinstance(source, nn.Module):
        return [NetworkParams.from_module(source)]
    return list(source)


def provenance_of(
    train: Zoo, val: Zoo, targets: np.ndarray, networks: Sequence[NetworkParams]
) -> dict:
    """What a predictor was trained on. The zoo's content hash covers its metrics table (every
    network's id, run, architecture and accuracies), not its weights: cheap on any zoo."""
    table = train.metrics.to_csv(index=False).encode()
    return {
        "zoo": {
            "name": train.name,
            "format": train.info.get("format", "in-memory"),
            "path": train.info.get("path"),
            "metrics_sha256": hashlib.sha256(table).hexdigest(),
        },
        "architectures": sorted(set(train.metrics["architecture"])),
        "networks": {"train": len(train), "val": len(val)},
        "runs": {"train": int(train.metrics["run_id"].nunique())},
        "target_range": [float(np.min(targets)), float(np.max(targets))],
        "domain": TrainingDomain.of(networks).to_dict(),
    }


def target_values(zoo: Zoo, target: str) -> np.ndarray:
    """The numeric column ``target`` of ``zoo``'s metrics; a missing column or value is refused
    with what to do."""
    if target not in zoo.metrics.columns:
        raise KeyError(f"zoo {zoo.name!r} has no column {target!r} to predict")
    column = zoo.metrics[target]
    if (
        len(column)
        and not pd.api.types.is_numeric_dtype(column)
        and pd.to_numeric(column, errors="coerce").isna().all()
    ):
        raise ValueError(
            f"zoo {zoo.name!r}: the column {target!r} is text (e.g. {column.iloc[0]!r}), not a "
            "number to predict; give --target a numeric column such as test_accuracy"
        )
    values = pd.to_numeric(column, errors="coerce").to_numpy(float)
    missing = int(np.isnan(values).sum())
    if missing:
        raise ValueError(
            f"zoo {zoo.name!r}: {missing} networks have no numeric {target!r}; drop them "
            f"first, e.g. zoo.filter(zoo.metrics[{target!r}].notna().to_numpy())"
        )
    return values


HUB_EXTRA = "pip install 'nnenc[hub]' (huggingface_hub)"

try:
    from huggingface_hub import PyTorchModelHubMixin as HubMixin
except ImportError:  # the hub is an optional extra

    class HubMixin:
        """Stands in for ``huggingface_hub.PyTorchModelHubMixin`` where it is not installed."""

        @classmethod
        def from_pretrained(cls, *args, **kwargs):
            raise ImportError(f"from_pretrained needs the hub extra: {HUB_EXTRA}")

        def save_pretrained(self, *args, **kwargs):
            raise ImportError(f"save_pretrained needs the hub extra: {HUB_EXTRA}")

        def push_to_hub(self, *args, **kwargs):
            raise ImportError(f"push_to_hub needs the hub extra: {HUB_EXTRA}")


def _step(scheduler, val_tau: float) -> None:
    """The learning-rate schedule's step after an epoch (a plateau schedule reads the
    validation tau; NaN counts as no progress)."""
    if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        scheduler.step(val_tau if val_tau == val_tau else -1.0)
    elif scheduler is not None:
        scheduler.step()


def _check_splits(train: Zoo, val: Zoo) -> None:
    """Refuse an empty training or validation split, naming it."""
    for part, zoo in (("train", train), ("val", val)):
        if len(zoo) == 0:
            raise ValueError(
                f"the {part} split of {zoo.name!r} holds no networks: nothing to "
                f"{'train on' if part == 'train' else 'select the epoch with'}; use a "
                "larger zoo, or check what filtering removed"
            )


class PerformancePredictor(nn.Module, HubMixin):
    """Encoder + head; ``fit(train, val)``, ``predict(...)``, ``save``/``load``.

    With the ``hub`` extra, ``save_pretrained(folder)``, ``from_pretrained(folder_or_repo_id)``
    and ``push_to_hub(repo_id)`` come from ``huggingface_hub.PyTorchModelHubMixin``; the files
    are the ones :meth:`save` writes (sealed ``config.json``, ``weights.safetensors``) plus the
    mixin's model card.

    Args:
        encoder: a registered encoder name (``nnenc.encoders.encoder_names()``).
        encoder_config: keyword arguments for the encoder.
        **training: :class:`~nnenc.predict.training.TrainingConfig` options (target column,
            loss ``bce``/``mse``, epochs, batch size, learning rate, weight decay, early-stopping patience, seed,
            logit-invariance weight, head width, device, precision ``auto``/``fp32``/``bf16``,
            learning-rate ``schedule`` and its options: :mod:`nnenc.budget`). A budget that
            cannot run is refused here, naming the key.
    """

    role: ClassVar[str] = "predictor"
    saveable: ClassVar[bool] = True

    def __init__(self, encoder: str = "sne", encoder_config: dict | None = None, **training):
        super().__init__()
        # a dict, as config.json records it; not kept as self.training, nn.Module's mode flag
        self.settings = TrainingConfig.from_options(training).check("training options").as_dict()
        check_precision(self.settings["precision"])
        self.encoder_name = encoder
        self.encoder_config = dict(encoder_config or {})
        torch.manual_seed(self.settings["seed"])
        self.encoder = create_encoder(encoder, **self.encoder_config)
        width = self.settings["head_hidden"]
        self.head = nn.Sequential(
            nn.Linear(self.encoder.out_dim, width), nn.GELU(), nn.Linear(width, 1)
        )
        self.register_buffer("target_mean", torch.zeros(()))
        self.register_buffer("target_std", torch.ones(()))
        self.history: pd.DataFrame | None = None
        self.provenance: dict = {}
        """Set by :meth:`fit` and saved: the training zoo (name, format, content hash), its
        architectures, counts and target range, and the :class:`TrainingDomain`."""

    # --- data ---------------------------------------------------------------------------
    def _featurize(self, networks: Sequence[NetworkParams], what: str, progress: bool) -> list:
        features = []
        for i, net in enumerate(tqdm(networks, desc=f"featurizing {what}", disable=not progress)):
            try:
                features.append(self.encoder.featurize(net))
            except EncoderInputError as err:
                raise EncoderInputError(f"{what}, network {i}: {err}") from err
        return features

    def _targets(self, zoo: Zoo) -> np.ndarray:
        values = target_values(zoo, self.settings["target"])
        if self.settings["loss"] == "bce" and (values.min() < 0 or values.max() > 1):
            raise ValueError(
                f"{self.settings['target']!r} ranges over [{values.min():.3g}, "
                f"{values.max():.3g}]; BCE needs targets in [0, 1]: use loss='mse'"
            )
        return values

    # --- model ----------------------------------------------------------------------------
    @property
    def target(self) -> str:
        """The metrics column it predicts."""
        return self.settings["target"]

    @property
    def precision(self) -> str:
        """The precision it computes in on its device: ``fp32`` or ``bf16``."""
        settings = self.settings
        return training_precision(self.encoder_name, settings["precision"], settings["device"])

    def _in_precision(self):
        """The context a forward pass runs in: :attr:`precision` on the predictor's device."""
        return autocast(self.precision, self.settings["device"])

    def forward(self, batch) -> torch.Tensor:
        """Raw outputs ``(B,)`` in float32: logits (BCE) or standardised values (MSE), computed
        in the predictor's precision."""
        with self._in_precision():
            return self.head(self.encoder(batch)).squeeze(-1).float()

    def _to_target(self, raw: torch.Tensor) -> torch.Tensor:
        if self.settings["loss"] == "bce":
            return torch.sigmoid(raw)
        return raw * self.target_std + self.target_mean

    def _loss(self, raw: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.settings["loss"] == "bce":
            return nn.functional.binary_cross_entropy_with_logits(raw, target)
        return nn.functional.mse_loss(raw, (target - self.target_mean) / self.target_std)

    def _batch(self, features: Sequence) -> object:
        return self.encoder.batch_to(self.encoder.collate(features), self.settings["device"])

    @torch.no_grad()
    def _in_batches(self, features: Sequence, fn, progress: bool = False) -> torch.Tensor:
        """``fn`` on collated batches of ``features`` in eval mode, results joined on the CPU."""
        self.eval()
        size = self.settings["batch_size"]
        starts = range(0, len(features), size)
        bar = tqdm(starts, desc="predicting", unit="batch", disable=not progress)
        return torch.cat([fn(self._batch(features[i : i + size])).cpu() for i in bar])

    def _predict_features(self, features: Sequence, progress: bool = False) -> np.ndarray:
        outputs = self._in_batches(features, lambda b: self._to_target(self(b)), progress)
        return outputs.double().numpy()

    # --- public API -----------------------------------------------------------------------
    def fit(self, train: Zoo, val: Zoo, progress: bool = True) -> pd.DataFrame:
        """Train on ``train``, select the epoch with the best Kendall tau on ``val``.

        Returns the history: one row per epoch with train loss, validation tau and seconds.
        """
        settings = self.settings
        device = settings["device"]
        _check_splits(train, val)
        y_train = self._targets(train)
        y_val = self._targets(val)
        if settings["loss"] == "mse":
            self.target_mean.fill_(float(y_train.mean()))
            self.target_std.fill_(float(y_train.std() or 1.0))
        train_networks = list(train)
        self.provenance = provenance_of(train, val, y_train, train_networks)
        train_features = self._featurize(train_networks, f"{train.name} (train)", progress)
        val_features = self._featurize(list(val), f"{val.name} (val)", progress)
        with torch.random.fork_rng():  # an encoder may build layers sized by the data here
            torch.manual_seed(settings["seed"])
            self.encoder.fit_inputs(train_features)
        self.to(device)
        optimizer = torch.optim.AdamW(
            self.parameters(), lr=settings["lr"], weight_decay=settings["weight_decay"]
        )
        scheduler = _scheduler(optimizer, settings)
        generator = torch.Generator().manual_seed(settings["seed"])
        permuter = torch.Generator().manual_seed(settings["seed"] + 1)
        targets = torch.tensor(y_train, dtype=torch.float32, device=device)
        best_tau, best_state, since_best, rows = -np.inf, None, 0, []
        bar = tqdm(range(settings["epochs"]), desc="training", unit="epoch", disable=not progress)
        for epoch in bar:
            started = time.perf_counter()
            order = torch.randperm(len(train_features), generator=generator)
            losses = self._train_epoch(
                order, train_features, train_networks, targets, optimizer, permuter
            )
            val_tau = kendall_tau(y_val, self._predict_features(val_features))
            rows.append(
                {
                    "epoch": epoch,
                    "train_loss": float(np.mean(losses)),
                    "val_kendall_tau": val_tau,
                    "lr": optimizer.param_groups[0]["lr"],
                    "seconds": time.perf_counter() - started,
                }
            )
            _step(scheduler, val_tau)
            bar.set_postfix(val_tau=f"{val_tau:.3f}", best=f"{max(best_tau, val_tau):.3f}")
            if val_tau > best_tau:
                best_tau, best_state, since_best = val_tau, copy.deepcopy(self.state_dict()), 0
            else:
                since_best += 1
                if since_best >= settings["patience"]:
                    break
        bar.close()
        if best_state is not None:
            self.load_state_dict(best_state)
        self.history = pd.DataFrame(rows)
        return self.history

    def _train_epoch(
        self,
        order: torch.Tensor,
        features: list,
        networks: list[NetworkParams],
        targets: torch.Tensor,
        optimizer: torch.optim.Optimizer,
        permuter: torch.Generator,
    ) -> list[float]:
        """One pass over the training networks in ``order``; each batch's loss."""
        settings = self.settings
        self.train()
        losses = []
        # near-equal batches, none of a single network (batch norm cannot train on one)
        for index in order.tensor_split(-(-len(order) // settings["batch_size"])):
            index = index.tolist()
            raw = self(self._batch([features[i] for i in index]))
            loss = self._loss(raw, targets[index])
            if settings["logit_invariance"] > 0:
                permuted = [
                    self.encoder.featurize(permute_hidden_neurons(networks[i], permuter))
                    for i in index
                ]
                moved = self._to_target(self(self._batch(permuted))) - self._to_target(raw)
                loss = loss + settings["logit_invariance"] * moved.pow(2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
        return losses

    @property
    def best_epoch(self) -> int | None:
        """The epoch (from 0) of the last :meth:`fit` whose weights were kept, or None before one
        (:func:`nnenc.budget.best_epoch`)."""
        if self.history is None or self.history.empty:
            return None
        return best_epoch(self.history["val_kendall_tau"].tolist())

    @property
    def ended_improving(self) -> bool:
        """Whether the last :meth:`fit` ended at its epoch cap still improving (its best epoch in
        the last 10% of the cap: :func:`nnenc.budget.ended_improving`); a longer budget might
        have found better weights."""
        best = self.best_epoch
        return best is not None and ended_improving(best, self.settings["epochs"])

    def predict(
        self,
        source: Zoo | nn.Module | NetworkParams | Sequence[NetworkParams],
        progress: bool = False,
    ) -> np.ndarray:
        """Predicted target per network, in the target's units (``progress``: bars for the
        featurizing and the predicting)."""
        networks = networks_of(source)
        features = self._featurize(networks, "input", progress)
        return self._predict_features(features, progress)

    def applicability(
        self, source: Zoo | nn.Module | NetworkParams | Sequence[NetworkParams]
    ) -> list[str]:
        """Per network, why it is outside what this predictor was trained on (an architecture
        it never saw, weight statistics out of range: :mod:`nnenc.applicability`), or ``""``.
        Predictors saved before this was recorded say ``""`` for every network."""
        domain = self.provenance.get("domain")
        if domain is None:
            return [""] * len(networks_of(source))
        checks = TrainingDomain.from_dict(domain)
        return [checks.outside(network) for network in networks_of(source)]

    def encode(
        self, source: Zoo | nn.Module | NetworkParams | Sequence[NetworkParams]
    ) -> np.ndarray:
        """The encoder's output ``(n, out_dim)`` per network (for embeddings and plots)."""
        features = self._featurize(networks_of(source), "input", progress=False)

        def encode(batch) -> torch.Tensor:
            with self._in_precision():
                return self.encoder(batch).float()

        return self._in_batches(features, encode).numpy()

    def evaluate(self, zoo: Zoo, interval: bool = False) -> dict[str, float]:
        """Kendall tau, Spearman, R^2 and MAE of the predictions on ``zoo``.

        Warns when ``zoo`` is too small to rank predictors by (:func:`small_sample_caveat`).
        ``interval=True`` adds ``kendall_tau_low``/``kendall_tau_high``: a 95% bootstrap interval
        over the zoo's training runs (:func:`~nnenc.metrics.reported_metrics`), and gives an
        undefined ranking (constant predictions or targets) as ``None`` with the reason.
        """
        true, predicted = self._targets(zoo), self.predict(zoo)
        runs = zoo.metrics["run_id"].to_numpy()
        caveat = small_sample_caveat(len(zoo), len(set(runs)), f"zoo {zoo.name!r}")
        if caveat:
            warnings.warn(caveat, stacklevel=2)
        if interval:  # as a report gives them: undefined scores are None, with the reason
            return reported_metrics(true, predicted, runs)
        return prediction_metrics(true, predicted)

    def save(self, path: str | Path) -> Path:
        """Write ``config.json`` and ``weights.safetensors`` into the folder ``path``."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()}
        with atomic_path(path / WEIGHTS) as tmp:
            save_file(state, tmp)
        config = {
            "format": "nnenc-predictor",
            "format_version": 1,
            "nnenc_version": package_version(),
            "encoder": self.encoder_name,
            "encoder_config": self.encoder.config,
            "training": self.settings,
            "precision_used": self.precision,
            "history": [] if self.history is None else self.history.to_dict("records"),
            "provenance": self.provenance,
            "weights_sha256": file_sha256(path / WEIGHTS),
        }
        write_json(seal(config), path / CONFIG)
        return path

    def _save_pretrained(self, save_directory: Path) -> None:
        """The hub mixin's save hook: nnenc's own files."""
        self.save(save_directory)

    @classmethod
    def _from_pretrained(
        cls,
        *,
        model_id: str,
        revision: str | None,
        cache_dir: str | Path | None,
        force_download: bool,
        local_files_only: bool,
        token: str | bool | None,
        map_location: str = "cpu",
        **_: object,
    ) -> PerformancePredictor:
        """The hub mixin's load hook: a local folder, or a Hub repository fetched first."""
        folder = Path(model_id)
        if not folder.is_dir():
            from huggingface_hub import snapshot_download

            folder = Path(
                snapshot_download(
                    repo_id=model_id,
                    revision=revision,
                    cache_dir=cache_dir,
                    force_download=force_download,
                    local_files_only=local_files_only,
                    token=token,
                )
            )
        return cls.load(folder, device=map_location)

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu") -> PerformancePredictor:
        """The predictor saved in folder ``path``."""
        path = Path(path)
        if not (path / CONFIG).is_file() or not (path / WEIGHTS).is_file():
            raise FileNotFoundError(
                f"{path}: expected {CONFIG} and {WEIGHTS} (from predictor.save)"
            )
        config = read_json(path / CONFIG, "predictor config", PredictorFileError)
        if not isinstance(config, dict):
            raise PredictorFileError(path / CONFIG, "not a predictor config (not a JSON object)")
        check_seal(config, path / CONFIG, PredictorFileError)
        if config.get("format") != "nnenc-predictor" or config.get("format_version", 99) > 1:
            raise ValueError(f"{path / CONFIG}: not a predictor this nnenc can read")
        missing = [k for k in ("weights_sha256", "provenance") if k not in config]
        if missing:
            raise PredictorFileError(
                path / CONFIG,
                f"missing {missing}, which predictor.save writes: the config was edited; "
                "re-copy the folder or save the predictor again",
            )
        if config["weights_sha256"] != file_sha256(path / WEIGHTS):
            raise PredictorFileError(
                path / WEIGHTS,
                f"does not match the checksum its {CONFIG} records: the weights are damaged or "
                "from another predictor; re-copy the folder",
            )
        missing = [k for k in ("encoder", "encoder_config", "training") if k not in config]
        if missing:
            raise PredictorFileError(path / CONFIG, f"missing {missing}: not a complete predictor")
        # predictors saved before the precision setting trained in fp32
        training = {"precision": "fp32", **config["training"], "device": device}
        predictor = cls(config["encoder"], config["encoder_config"], **training)
        try:
            predictor.load_state_dict(load_file(path / WEIGHTS, device=device))
        except (SafetensorError, RuntimeError, OSError) as err:
            raise PredictorFileError(
                path / WEIGHTS, f"not this predictor's weights ({err})"
            ) from err
        predictor.history = pd.DataFrame(config.get("history", []))
        predictor.provenance = config["provenance"]
        return predictor.to(device).eval()
