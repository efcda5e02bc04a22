"""The training script behind the browser and client-read tests (a subprocess of full_stack_fixture.py).

It logs everything ``released_stack_training`` logs (the same constants, so the released-stack expectations
carry over) and, on top, images and a few more printed lines, so that every tab of the UI's run page and
every read of the released client has something to show. Configured only through ``MATYAN_FRONTIER_URL``
and ``MATYAN_BACKEND_URL``; writes the run's id to the file named by its first argument.
"""

from __future__ import annotations

import base64
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import released_stack_training as base

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

IMAGE_NAME = "samples"
IMAGE_CAPTIONS = {0: "a red square", 1: "a green square"}
IMAGE_SIZE = 12
PRINTED_LINES = [base.PRINTED_LINE, "epoch 1 done: loss 0.25", "training finished"]


def image_pixels(step: int) -> PILImage:
    """The picture logged at ``step``: one flat colour per step, so each is recognisable in a screenshot."""
    from PIL import Image

    colour = (220, 30, 30) if step == 0 else (30, 200, 60)
    return Image.new("RGB", (IMAGE_SIZE, IMAGE_SIZE), colour)


def image_bytes(step: int) -> bytes:
    """The PNG bytes the client uploads for ``step`` (encoded exactly as the client encodes them)."""
    from matyan_client.objects import Image

    return base64.b64decode(Image(image_pixels(step)).json()["data"])


def main(out_path: str, artifact_dir: str) -> None:
    from matyan_client import Run
    from matyan_client.objects import Distribution, Image, Text

    # system_tracking_interval=None: no __system__ metrics, so the run holds only what is listed here.
    run = Run(experiment=base.EXPERIMENT, system_tracking_interval=None)
    run.name = base.RUN_NAME
    run["hparams"] = base.HPARAMS
    run["seed"] = base.SEED
    run.add_tag(base.TAG)
    for i in range(base.AUTO_STEPS):
        run.track(base.loss_at(i), name="loss", context=base.LOSS_CONTEXT)
        run.track(base.accuracy_at(i), name="accuracy")
    for j, step in enumerate(base.EXPLICIT_STEPS):
        value = base.loss_at(base.AUTO_STEPS + j)
        run.track(value, name="loss", step=step, epoch=step // 10, context=base.LOSS_CONTEXT)
    for step, text in base.TEXT_STEPS.items():
        run.track(Text(text), name=base.TEXT_NAME, step=step)
    for step, caption in IMAGE_CAPTIONS.items():
        run.track(Image(image_pixels(step), caption=caption), name=IMAGE_NAME, step=step)
    run.track(Distribution(hist=base.DIST_HIST, bin_range=base.DIST_RANGE), name=base.DIST_NAME, step=0)
    run.log_info(base.LOG_MESSAGE, **base.LOG_EXTRA)
    artifact = Path(artifact_dir) / "model.txt"
    artifact.write_bytes(base.ARTIFACT_BYTES)
    run.log_artifact(str(artifact), name=base.ARTIFACT_NAME)
    for line in PRINTED_LINES:
        print(line, flush=True)
    run_id = run.hash
    run.close()
    Path(out_path).write_text(run_id)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
