"""Training: settings and recipes, the trainer, progress callbacks and resumable state."""
