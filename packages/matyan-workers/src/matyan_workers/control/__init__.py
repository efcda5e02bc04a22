"""The control worker: side effects of ``control-events`` (blob cleanup of deleted runs)."""
