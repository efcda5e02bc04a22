"""Demo data for a local stack (`make demo`): a few realistic runs logged through the released client.

Each run of a small "image classifier" sweep logs hyper-parameters, train/validation loss and accuracy
(one run's loss spikes half-way, as a too-high learning rate would), images, texts, distributions,
audio clips, a figure, printed lines (terminal logs) and log records, so every explorer of the UI (runs,
metrics, params, scatters, images, texts, audios, figures, the run page's tabs) has something to show.

    python infra/dev/demo_runs.py --repo http://127.0.0.1:53800 --frontier http://127.0.0.1:53801

``--repo`` may carry a token (``http://demo:TOKEN@host:53800``) when the API has authentication on.
Its output (the runs' printed lines, captured as their terminal logs) ends with one ``logged run <id>``
line per run.
"""

from __future__ import annotations

import argparse
import math
import os
import random
from typing import Any

import numpy as np
from PIL import Image as PILImage

EXPERIMENT = "demo-image-classifier"
SWEEP: list[dict[str, Any]] = [
    {"lr": 0.001, "batch_size": 64, "optimizer": "adam", "dropout": 0.1},
    {"lr": 0.01, "batch_size": 128, "optimizer": "sgd", "dropout": 0.3},
    {"lr": 0.1, "batch_size": 32, "optimizer": "adam", "dropout": 0.0},
]
STEPS = 150
SPIKE_RUN = 2
SPIKE_AT = 80
CLASSES = ("cat", "dog", "ship", "plane")
SAMPLE_RATE = 8000


def loss_curve(lr: float, step: int, rng: random.Random, spike: bool) -> float:
    """A decaying training loss with noise; with ``spike`` a blow-up near SPIKE_AT that recovers."""
    base = 2.3 * math.exp(-step * lr * 2.5 / (lr + 0.01)) + 0.05
    bump = 3.0 * math.exp(-((step - SPIKE_AT) ** 2) / 8.0) if spike else 0.0
    return base + bump + rng.gauss(0.0, 0.02)


def sample_image(label: int, step: int) -> PILImage.Image:
    """A 32x32 picture: a class-coloured disc that sharpens as training goes on."""
    colours = [(220, 60, 60), (60, 160, 220), (60, 200, 90), (230, 180, 40)]
    yy, xx = np.mgrid[0:32, 0:32]
    disc = ((xx - 16) ** 2 + (yy - 16) ** 2) < (6 + label * 2) ** 2
    noise = np.random.default_rng(step * 10 + label).integers(0, max(1, 120 - step), (32, 32, 3))
    pixels = np.where(disc[..., None], np.array(colours[label]), 30) + noise
    return PILImage.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def tone(freq: float, seconds: float = 0.5) -> np.ndarray[Any, np.dtype[np.float32]]:
    """A sine tone (what a speech model's sample would be, recognisably different per class)."""
    t = np.arange(int(SAMPLE_RATE * seconds)) / SAMPLE_RATE
    return (0.3 * np.sin(2 * math.pi * freq * t)).astype(np.float32)


def confusion_figure(accuracy: float) -> dict[str, Any]:
    """A plotly heatmap, as a dict (the client accepts plotly's JSON without plotly installed)."""
    size = len(CLASSES)
    diag = round(accuracy * 100)
    off = round((100 - diag) / (size - 1))
    z = [[diag if i == j else off for j in range(size)] for i in range(size)]
    return {
        "data": [{"type": "heatmap", "z": z, "x": list(CLASSES), "y": list(CLASSES), "colorscale": "Blues"}],
        "layout": {"title": {"text": "confusion matrix (validation)"}},
    }


def log_run(repo: str, frontier: str, index: int, hparams: dict[str, Any]) -> str:
    """Log one run of the sweep; its id."""
    from matyan_client import Audio, Distribution, Figure, Image, Run, Text

    rng = random.Random(index)
    run = Run(repo=repo, frontier_url=frontier, experiment=EXPERIMENT, system_tracking_interval=None)
    run.name = f"{hparams['optimizer']} lr={hparams['lr']}"
    run["hparams"] = hparams
    run["dataset"] = {"name": "shapes-4", "train_size": 50_000, "classes": list(CLASSES)}
    run.add_tag("demo")
    if index == SPIKE_RUN:
        run.add_tag("unstable")
    run.log_info("training started", **{k: v for k, v in hparams.items() if k != "optimizer"})
    print(f"run {index}: training {run.name} for {STEPS} steps", flush=True)
    accuracy = 0.25
    for step in range(STEPS):
        loss = loss_curve(hparams["lr"], step, rng, spike=index == SPIKE_RUN)
        accuracy = min(0.98, max(0.25, 1.0 - loss / 2.4 + rng.gauss(0.0, 0.01)))
        run.track(loss, name="loss", step=step, epoch=step // 30, context={"subset": "train"})
        run.track(accuracy, name="accuracy", step=step, epoch=step // 30, context={"subset": "train"})
        if step % 10 == 0:
            run.track(loss * 1.1 + 0.02, name="loss", step=step, context={"subset": "val"})
            run.track(accuracy * 0.97, name="accuracy", step=step, context={"subset": "val"})
        if index == SPIKE_RUN and step == SPIKE_AT:
            run.log_warning("loss spiked", step=step, loss=round(loss, 3))
        if step % 30 == 0:
            print(f"step {step}: loss {loss:.4f} accuracy {accuracy:.3f}", flush=True)
            # The released client tracks one object per call and names its blob by run, sequence name
            # and step only (not the context): one sequence per class keeps the uploads apart.
            for c, name in enumerate(CLASSES):
                picture = Image(sample_image(c, step), caption=f"{name} (step {step})")
                run.track(picture, name=f"predictions-{name}", step=step, context={"class": name})
            weights = np.random.default_rng(step).normal(0.0, 1.0 / (1 + step / 50), 2000)
            run.track(Distribution(samples=weights.tolist(), bin_count=40), name="weights", step=step)
            run.track(
                Text(f"step {step}: predicted '{CLASSES[step % 4]}' for sample #{step}"),
                name="samples",
                step=step,
            )
        if step % 75 == 0:
            for c, name in enumerate(CLASSES):
                clip = Audio(tone(220.0 * (c + 1)), caption=name, rate=SAMPLE_RATE)
                run.track(clip, name=f"tone-{name}", step=step, context={"class": name})
    run.track(Figure(confusion_figure(accuracy)), name="confusion", step=STEPS - 1)
    run["final"] = {"accuracy": round(accuracy, 4)}
    run.log_info("training finished", accuracy=round(accuracy, 4))
    print(f"run {index}: finished with accuracy {accuracy:.3f}", flush=True)
    run_id = str(run.hash)
    run.close()
    return run_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    api_port = os.environ.get("MATYAN_DEV_API_PORT", "53800")
    frontier_port = os.environ.get("MATYAN_DEV_FRONTIER_PORT", "53801")
    parser.add_argument("--repo", default=f"http://127.0.0.1:{api_port}", help="the API (may carry a token)")
    parser.add_argument("--frontier", default=f"http://127.0.0.1:{frontier_port}", help="the frontier")
    parser.add_argument("--runs", type=int, default=len(SWEEP), help=f"how many runs (at most {len(SWEEP)})")
    args = parser.parse_args()
    for index, hparams in enumerate(SWEEP[: max(1, args.runs)]):
        print(f"logged run {log_run(args.repo, args.frontier, index, hparams)}", flush=True)


if __name__ == "__main__":
    main()
