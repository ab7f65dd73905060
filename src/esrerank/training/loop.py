"""The training loop shared by both encoders: AdamW with linear warm-up and decay, a dev
evaluation every ``eval_steps`` (and after each epoch), and the best checkpoint kept."""

from __future__ import annotations

import json
import logging
import math
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from ..errors import ConfigError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settings:
    """How long and how fast to train."""

    epochs: int = 1
    batch_size: int = 16
    learning_rate: float = 2e-5
    warmup: float = 0.1
    seed: int = 13
    eval_steps: int | None = None  # None: evaluate after each epoch only
    progress: bool = False


@dataclass(frozen=True)
class TrainReport:
    """What a training run did, and its dev figures (``history``: one entry per evaluation)."""

    encoder: str
    base: str
    examples: int
    steps: int
    seconds: float
    final_loss: float
    metric: str | None
    best: dict[str, float] | None
    history: list[dict[str, float]]
    output: Path
    recipe: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        line = (
            f"trained {self.encoder}-encoder from {self.base} on {self.examples} examples: "
            f"{self.steps} steps in {self.seconds:.1f}s, final loss {self.final_loss:.4f}"
        )
        if self.best:
            figures = " ".join(f"{k}={v:.4f}" for k, v in self.best.items() if k != "step")
            line += f"; best dev {figures} at step {int(self.best['step'])}"
        return f"{line}; saved to {self.output}"

    def write(self) -> None:
        """Record the run next to the weights, as ``training.json``."""
        data = asdict(self)
        data["output"] = str(self.output)
        (self.output / "training.json").write_text(json.dumps(data, indent=2) + "\n")


def prepare_output(output: str | Path) -> Path:
    """Create ``output`` and check it can be written, before any time is spent training."""
    output = Path(output)
    try:
        output.mkdir(parents=True, exist_ok=True)
        probe = output / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(
            f"Output folder '{output}' is not writable ({exc.strerror or exc}). Pick another "
            "`output`.",
            settings=("output",),
        ) from exc
    return output


def run(
    *,
    encoder: str,
    base: str,
    examples: int,
    output: Path,
    recipe: dict[str, Any],
    parameters,
    make_batches: Callable[[random.Random], Sequence[Any]],
    loss_of: Callable[[Any], Any],
    evaluate: Callable[[], dict[str, float]] | None,
    metric: str | None,
    save: Callable[[], None],
    settings: Settings,
) -> TrainReport:
    """Train until ``settings.epochs`` are done; save whenever ``metric`` on dev improves (or
    once at the end without dev data); record the run in ``output/training.json``."""
    import torch

    rng = random.Random(settings.seed)
    torch.manual_seed(settings.seed)
    parameters = list(parameters)
    batches = make_batches(rng)
    steps = settings.epochs * len(batches)
    if steps == 0:
        raise ConfigError("No training batches: the training data is empty.")
    optimizer = torch.optim.AdamW(parameters, lr=settings.learning_rate, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, _warmup_then_decay(int(settings.warmup * steps), steps)
    )
    history: list[dict[str, float]] = []
    best: dict[str, float] | None = None
    loss_value = math.nan
    step = 0
    started = time.perf_counter()

    def checkpoint() -> None:
        nonlocal best
        if evaluate is None:
            return
        figures = {**evaluate(), "step": float(step)}
        history.append(figures)
        message = "dev at step {}: {}".format(
            step, " ".join(f"{k}={v:.4f}" for k, v in figures.items() if k != "step")
        )
        if settings.progress:
            tqdm.write(message, file=sys.stderr)
        log.info(message)
        if best is None or figures[metric] > best[metric]:
            best = figures
            save()

    with tqdm(total=steps, desc="train", unit="step", disable=not settings.progress) as bar:
        for epoch in range(settings.epochs):
            if epoch:
                batches = make_batches(rng)
            for batch in batches:
                loss = loss_of(batch)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(parameters, 1.0)
                optimizer.step()
                schedule.step()
                optimizer.zero_grad()
                loss_value = float(loss.detach())
                step += 1
                bar.update(1)
                bar.set_postfix(loss=f"{loss_value:.3f}", refresh=False)
                if settings.eval_steps and step % settings.eval_steps == 0 and step < steps:
                    checkpoint()
            checkpoint()
    if evaluate is None:
        save()
    report = TrainReport(
        encoder=encoder,
        base=base,
        examples=examples,
        steps=step,
        seconds=time.perf_counter() - started,
        final_loss=loss_value,
        metric=metric if evaluate else None,
        best=best,
        history=history,
        output=output,
        recipe={**recipe, **asdict(settings)},
    )
    report.write()
    return report


def _warmup_then_decay(warmup: int, total: int) -> Callable[[int], float]:
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        return max(0.0, (total - step) / max(1, total - warmup))

    return factor
