"""Small shared helpers for the torch models: seeding, threads, training loop, checkpoint I/O."""

from __future__ import annotations

import random
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable, Generic, Hashable, TypeVar

import numpy as np
import torch

from physio_core.features import FEATURE_VERSION


class ModelMissing(FileNotFoundError):
    """The weights file a model needs is not there (train with `python -m physio_core.train`)."""


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedMemo(Generic[K, V]):
    """A thread-safe map that keeps the ``size`` entries used last (read or put), for memos keyed
    by an array's content, which ``functools.lru_cache`` cannot hash."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        self.update([(key, value)])

    def update(self, items) -> None:
        """Put each (key, value) of ``items``, then drop the least recently used past ``size``."""
        with self._lock:
            for key, value in items:
                self._items[key] = value
                self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


def seed_everything(seed: int) -> np.random.Generator:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return np.random.default_rng(seed)


def set_threads(n: int = 1) -> None:
    # one thread: on a shared, busy CPU two OpenMP threads wait on each other (5x slower here)
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)


def train_loop(
    model: torch.nn.Module,
    n_items: int,
    batch_loss: Callable[[np.ndarray], torch.Tensor],
    epochs: int,
    lr: float,
    batch_size: int,
    rng: np.random.Generator,
    weight_decay: float = 1e-4,
) -> list[float]:
    """Adam with cosine decay over shuffled index batches; returns the mean loss per epoch."""
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    steps = epochs * max(1, int(np.ceil(n_items / batch_size)))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.15)
    history = []
    model.train()
    for _ in range(epochs):
        order = rng.permutation(n_items)
        losses = []
        for i in range(0, n_items, batch_size):
            idx = order[i : i + batch_size]
            loss = batch_loss(idx)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 2.0)
            opt.step()
            sched.step()
            losses.append(float(loss.detach()))
        history.append(float(np.mean(losses)))
    model.eval()
    return history


def save_checkpoint(path: str | Path, kind: str, config: dict, state: dict[str, Any], extra: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {"kind": kind, "feature_version": FEATURE_VERSION, "config": config,
         "state": state, "extra": extra},
        path,
    )


def load_checkpoint(path: str | Path, kind: str) -> dict:
    path = Path(path)
    if not path.exists():
        raise ModelMissing(
            f"{path} not found: train the models with `python -m physio_core.train`"
        )
    ck = torch.load(path, map_location="cpu", weights_only=True)
    if ck.get("kind") != kind:
        raise ValueError(f"{path} holds a {ck.get('kind')!r} model, expected {kind!r}")
    if ck.get("feature_version") != FEATURE_VERSION:
        raise ValueError(
            f"{path} was trained on features {ck.get('feature_version')!r}, this code computes "
            f"{FEATURE_VERSION!r}: retrain with `python -m physio_core.train`"
        )
    return ck


def to_tensor(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
