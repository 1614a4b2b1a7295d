"""What a training folder holds, and what is wrong with it, before anything is trained.

``check_training_folder`` scans the folder with ``scan_folder_dataset`` (every image decoded once)
and reports the classes with their photo and sketch counts, the files and classes that will be
skipped and why, and what stops training altogether (fewer than two usable classes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from zssbir_core.data.folder import FolderDataset, scan_folder_dataset

MIN_PHOTOS_PER_CLASS = 5
"""Below this many photos a class is kept but reported: retrieval on it will not improve much."""
MIN_CLASSES = 2
"""The quadruplet loss needs negatives from another class."""


@dataclass(frozen=True)
class ClassCount:
    """One class of the folder and how many usable images it has in each domain."""

    name: str
    photos: int
    sketches: int


@dataclass
class TrainingDataReport:
    """The result of checking a training folder; ``ok`` says whether training can start."""

    root: Path
    has_sketches: bool
    classes: list[ClassCount]
    skipped: list[str] = field(default_factory=list)
    """Files and classes left out, each as ``"path: reason"``."""
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dataset: FolderDataset | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def layout(self) -> str:
        return "photos and sketches" if self.has_sketches else "photos only (sketches are drawn from them)"

    def summary(self) -> str:
        """A few lines for the user: what was found and what is wrong."""
        photos = sum(c.photos for c in self.classes)
        sketches = sum(c.sketches for c in self.classes)
        lines = [f"{len(self.classes)} classes, {photos} photos, {sketches} sketches: {self.layout}."]
        lines += [f"Cannot train: {message}" for message in self.errors]
        lines += [f"Warning: {message}" for message in self.warnings]
        if self.skipped:
            lines.append(f"Skipped {len(self.skipped)}: " + "; ".join(self.skipped[:5])
                         + (" ..." if len(self.skipped) > 5 else ""))
        return "\n".join(lines)


def check_training_folder(root: str | Path, *, min_photos: int = MIN_PHOTOS_PER_CLASS) -> TrainingDataReport:
    """Scan ``root`` and report; raises ``DatasetError`` when the folder is not a dataset at all."""
    root = Path(root)
    dataset = scan_folder_dataset(root, on_problem="skip")
    counts = dataset.counts()
    classes = [ClassCount(name, *counts[name]) for name in dataset.classes]
    report = TrainingDataReport(root, dataset.has_sketches, classes, dataset=dataset)
    report.skipped = [f"{problem.path}: {problem.reason}" for problem in dataset.problems]
    few = [f"{c.name} ({c.photos})" for c in classes if c.photos < min_photos]
    if few:
        report.warnings.append(
            f"too few photos (fewer than {min_photos}) in {len(few)} class(es): {', '.join(few)}")
    if len(classes) < MIN_CLASSES:
        report.errors.append(
            f"training needs at least {MIN_CLASSES} classes with photos; found {len(classes)}")
    return report
