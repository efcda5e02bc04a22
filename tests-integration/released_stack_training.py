"""A training script for the released ``matyan-client`` (run as a subprocess by test_e2e_released_stack.py).

It is configured only the way a user's script is: ``MATYAN_FRONTIER_URL`` and ``MATYAN_BACKEND_URL`` in its
environment. It logs everything the constants below describe, closes the run, and writes the run's id to
the file named by its one argument. The test imports the same constants as its expectations, so what is
asserted is exactly what was logged.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

EXPERIMENT = "released-stack-e2e"
RUN_NAME = "released stack run"
TAG = "released-e2e"
HPARAMS: dict[str, Any] = {
    "lr": 0.001,
    "batch_size": 32,
    "optimizer": "adam",
    "schedule": {"warmup": 5, "milestones": [30, 60]},
}
SEED = 1234
LOSS_CONTEXT = {"subset": "train"}
# The client numbers steps it is not given (0, 1, ...); the explicit ones come after, with gaps and
# epochs, so both paths and the store's handling of sparse steps are covered.
AUTO_STEPS = 60
EXPLICIT_STEPS = [100 + 2 * i for i in range(40)]
TEXT_NAME = "sample"
TEXT_STEPS = {0: "first generated sample", 1: "second sample, ünïcode and\nnewline"}
DIST_NAME = "weights"
DIST_HIST = [1, 4, 9, 3, 0, 2]
DIST_RANGE = (-1.5, 1.5)
LOG_MESSAGE = "finished the warm-up"
LOG_EXTRA = {"epoch": 3, "phase": "warmup"}
ARTIFACT_NAME = "checkpoints/model.txt"
ARTIFACT_BYTES = b"released-stack weights \x00\x01\x02"
PRINTED_LINE = "hello from the released-stack training script"


def loss_at(i: int) -> float:
    """The i-th loss value logged (i counts points, not steps)."""
    return 1.0 / (i + 1) + i * 1e-7


def accuracy_at(i: int) -> int:
    """An int-valued metric (the client sends dtype "int"): the backend must keep it an int."""
    return 3 * i


def expected_loss() -> tuple[list[int], list[float], list[int | None]]:
    """Steps, values and epochs of the ``loss`` series as logged."""
    steps = list(range(AUTO_STEPS)) + EXPLICIT_STEPS
    values = [loss_at(i) for i in range(len(steps))]
    epochs: list[int | None] = [None] * AUTO_STEPS + [s // 10 for s in EXPLICIT_STEPS]
    return steps, values, epochs


def main(out_path: str, artifact_dir: str) -> None:
    from matyan_client import Run
    from matyan_client.objects import Distribution, Text

    # system_tracking_interval=None: no __system__ metrics, so the run holds only what is listed above.
    run = Run(experiment=EXPERIMENT, system_tracking_interval=None)
    run.name = RUN_NAME
    run["hparams"] = HPARAMS
    run["seed"] = SEED
    run.add_tag(TAG)
    for i in range(AUTO_STEPS):
        run.track(loss_at(i), name="loss", context=LOSS_CONTEXT)
        run.track(accuracy_at(i), name="accuracy")
    for j, step in enumerate(EXPLICIT_STEPS):
        run.track(loss_at(AUTO_STEPS + j), name="loss", step=step, epoch=step // 10, context=LOSS_CONTEXT)
    for step, text in TEXT_STEPS.items():
        run.track(Text(text), name=TEXT_NAME, step=step)
    run.track(Distribution(hist=DIST_HIST, bin_range=DIST_RANGE), name=DIST_NAME, step=0)
    run.log_info(LOG_MESSAGE, **LOG_EXTRA)
    artifact = Path(artifact_dir) / "model.txt"
    artifact.write_bytes(ARTIFACT_BYTES)
    run.log_artifact(str(artifact), name=ARTIFACT_NAME)
    print(PRINTED_LINE, flush=True)
    run_id = run.hash
    run.close()
    Path(out_path).write_text(run_id)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
