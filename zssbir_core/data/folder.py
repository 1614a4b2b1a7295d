"""Image folders as datasets: ``ROOT/photo/<class>/*`` + ``ROOT/sketch/<class>/*``, or photos only.

``scan_folder_dataset`` walks the folder once, checks every image can be decoded (optional), and
turns the user's data mistakes (unreadable files, stray non-image files, empty classes, classes in
one domain only) into ``DatasetProblem`` entries that are skipped, or into one ``DatasetError``
naming them all. A folder that is not a dataset at all is always an error.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from zssbir_core.data.domains import DOMAIN_NAMES, PHOTO, SKETCH
from zssbir_core.data.splits import class_key
from zssbir_core.errors import DatasetError, ImageReadError
from zssbir_core.imageio import is_image_path, open_image

ON_PROBLEM_CHOICES = ("skip", "stop")
_CHECK_SIZE = 32  # decode size for the readability check (JPEG draft mode makes it cheap)
_MAX_LISTED = 20


@dataclass(frozen=True)
class Sample:
    """One image: its file, its class index in the dataset's ``classes``, its domain code."""

    path: Path
    label: int
    domain: int


@dataclass(frozen=True)
class DatasetProblem:
    """A file or folder that was left out, and why."""

    path: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass
class FolderDataset:
    """Classes (label i is ``classes[i]``), their samples, and what was left out while scanning."""

    root: Path
    classes: list[str]
    samples: list[Sample]
    problems: list[DatasetProblem] = field(default_factory=list)

    @property
    def has_sketches(self) -> bool:
        return any(sample.domain == SKETCH for sample in self.samples)

    def photos(self) -> list[Sample]:
        return [sample for sample in self.samples if sample.domain == PHOTO]

    def sketches(self) -> list[Sample]:
        return [sample for sample in self.samples if sample.domain == SKETCH]

    def counts(self) -> dict[str, tuple[int, int]]:
        """Class name -> (number of photos, number of sketches)."""
        counts = {name: [0, 0] for name in self.classes}
        for sample in self.samples:
            counts[self.classes[sample.label]][sample.domain] += 1
        return {name: (photos, sketches) for name, (photos, sketches) in counts.items()}

    def subset(self, class_names: Sequence[str]) -> FolderDataset:
        """The samples of ``class_names`` only, relabelled in the order given."""
        unknown = [name for name in class_names if name not in self.classes]
        if unknown:
            raise DatasetError(
                f"{self.root}: no class {_quoted(unknown)} in this dataset "
                f"(it has {len(self.classes)} classes, e.g. {_quoted(self.classes[:5])})"
            )
        if len(set(class_names)) != len(class_names):
            raise DatasetError(f"{self.root}: class list names a class twice")
        new_label = {self.classes.index(name): i for i, name in enumerate(class_names)}
        samples = [
            Sample(s.path, new_label[s.label], s.domain) for s in self.samples if s.label in new_label
        ]
        return FolderDataset(self.root, list(class_names), samples, list(self.problems))

    def fingerprint(self) -> str:
        """sha256 over the sorted relative paths, sizes and modification times of the samples."""
        digest = hashlib.sha256()
        for path in sorted(sample.path for sample in self.samples):
            stat = path.stat()
            relative = path.relative_to(self.root) if path.is_relative_to(self.root) else path
            digest.update(f"{relative.as_posix()}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        return digest.hexdigest()


def scan_folder_dataset(
    root: str | os.PathLike[str],
    *,
    on_problem: str = "skip",
    check_images: bool = True,
    classes: Sequence[str] | None = None,
) -> FolderDataset:
    """Read a dataset folder; see the module docstring for the layouts and the problem policy.

    ``on_problem="skip"`` leaves bad files and classes out and lists them in ``problems``;
    ``"stop"`` raises ``DatasetError`` naming every problem. ``check_images`` decodes each image
    (at a small size) so that unreadable files are found now rather than in the middle of training.
    ``classes`` reads only those classes (labelled in that order; see ``select_classes``).
    """
    root = Path(root).expanduser()
    return scan_domain_dirs(
        root, _domain_dirs(root), on_problem=on_problem, check_images=check_images, classes=classes
    )


def scan_domain_dirs(
    root: Path,
    domain_dirs: Mapping[int, Path],
    *,
    on_problem: str = "skip",
    check_images: bool = True,
    classes: Sequence[str] | None = None,
) -> FolderDataset:
    """Build a dataset from one ``<class>/`` folder tree per domain (``domain_dirs[PHOTO]`` and,
    optionally, ``domain_dirs[SKETCH]``); with ``classes``, only those class folders are read.
    Same problem policy as ``scan_folder_dataset``."""
    wanted = {class_key(name) for name in classes} if classes is not None else None
    if on_problem not in ON_PROBLEM_CHOICES:
        raise ValueError(f"on_problem must be one of {ON_PROBLEM_CHOICES}, got {on_problem!r}")
    problems: list[DatasetProblem] = []
    files: dict[str, dict[int, list[Path]]] = {}
    for domain, domain_dir in domain_dirs.items():
        for entry in _visible_entries(domain_dir):
            if wanted is not None and not (entry.is_dir() and class_key(entry.name) in wanted):
                continue
            if not entry.is_dir():
                problems.append(DatasetProblem(entry, "file outside a class folder"))
                continue
            class_files = files.setdefault(entry.name, {})
            class_files[domain] = []
            for path in _files_below(entry):
                if is_image_path(path):
                    class_files[domain].append(path)
                else:
                    problems.append(DatasetProblem(path, "not an image file"))
    if not files and wanted is not None:
        raise DatasetError(f"{root}: none of the {len(wanted)} listed classes has a folder here")
    if not files:
        raise DatasetError(f"{root}: not a dataset: it has no class folders ({_LAYOUT_HINT})")

    if check_images:
        every_image = (p for by_domain in files.values() for ps in by_domain.values() for p in ps)
        unreadable = _unreadable_images(every_image)
        if unreadable:
            problems.extend(unreadable.values())
            for by_domain in files.values():
                for domain, paths in by_domain.items():
                    by_domain[domain] = [p for p in paths if p not in unreadable]

    two_domains = SKETCH in domain_dirs
    kept: list[str] = []
    for name in sorted(files):
        by_domain = files[name]
        if not any(by_domain.values()):
            places = " and ".join(str(domain_dirs[d] / name) for d in sorted(by_domain))
            problems.append(DatasetProblem(Path(places), "class folder has no readable images"))
        elif two_domains and not all(by_domain.get(d) for d in (PHOTO, SKETCH)):
            present = PHOTO if by_domain.get(PHOTO) else SKETCH
            plural = {PHOTO: "photos", SKETCH: "sketches"}
            problems.append(
                DatasetProblem(
                    domain_dirs[present] / name,
                    f"class {name!r} has {plural[present]} but no readable {plural[1 - present]}",
                )
            )
        else:
            kept.append(name)

    if problems and on_problem == "stop":
        raise DatasetError(f"{root}: {len(problems)} problem(s) in the dataset:\n{_listing(problems)}")
    if not kept:
        raise DatasetError(
            f"{root}: no usable class left after skipping {len(problems)} problem(s):\n{_listing(problems)}"
        )
    samples = [
        Sample(path, label, domain)
        for label, name in enumerate(kept)
        for domain in sorted(files[name])
        for path in files[name][domain]
    ]
    dataset = FolderDataset(root, kept, samples, problems)
    return dataset if classes is None else select_classes(dataset, classes)


def select_classes(dataset: FolderDataset, classes: Sequence[str]) -> FolderDataset:
    """``dataset.subset`` by names matched ignoring case and space/underscore/hyphen spelling
    (releases write ``palm tree``, ``palm_tree``); the dataset keeps its folder names. A listed
    class that is missing (or was skipped as unusable) raises ``DatasetError`` naming it."""
    by_key = {class_key(name): name for name in dataset.classes}
    missing = [name for name in classes if class_key(name) not in by_key]
    if missing:
        skipped = f" ({len(dataset.problems)} problem(s) skipped)" if dataset.problems else ""
        raise DatasetError(
            f"{dataset.root}: {len(missing)} listed class(es) missing or unusable{skipped}: "
            f"{', '.join(missing)}"
        )
    return dataset.subset(list(dict.fromkeys(by_key[class_key(name)] for name in classes)))


_LAYOUT_HINT = (
    "expected ROOT/photo/<class>/<images> with ROOT/sketch/<class>/<images>, "
    "or photos only as ROOT/photo/<class>/<images> or ROOT/<class>/<images>"
)


def _domain_dirs(root: Path) -> dict[int, Path]:
    """Which folder holds each domain; raises ``DatasetError`` for a folder that is no dataset."""
    if not root.exists():
        raise DatasetError(f"{root}: dataset folder does not exist")
    if not root.is_dir():
        raise DatasetError(f"{root}: not a folder ({_LAYOUT_HINT})")
    photo, sketch = root / DOMAIN_NAMES[PHOTO], root / DOMAIN_NAMES[SKETCH]
    if photo.is_dir():
        return {PHOTO: photo, SKETCH: sketch} if sketch.is_dir() else {PHOTO: photo}
    if sketch.is_dir():
        raise DatasetError(f"{root}: has a sketch folder but no photo folder ({_LAYOUT_HINT})")
    class_dirs = [entry for entry in _visible_entries(root) if entry.is_dir()]
    if not class_dirs or not any(is_image_path(p) for d in class_dirs for p in _files_below(d)):
        raise DatasetError(f"{root}: not a dataset: no class folders with images ({_LAYOUT_HINT})")
    return {PHOTO: root}


def _visible_entries(directory: Path) -> list[Path]:
    try:
        return sorted(p for p in directory.iterdir() if not p.name.startswith("."))
    except OSError as error:
        raise DatasetError(f"{directory}: cannot list folder ({error.strerror or error})") from None


def _files_below(directory: Path) -> list[Path]:
    """Regular files under ``directory`` (recursively), hidden ones left out, in sorted order."""
    found: list[Path] = []
    for current, dirnames, filenames in os.walk(directory, onerror=_raise_listing_error):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        found.extend(Path(current) / name for name in sorted(filenames) if not name.startswith("."))
    return found


def _raise_listing_error(error: OSError) -> None:
    raise DatasetError(f"{error.filename}: cannot list folder ({error.strerror or error})")


def _unreadable_images(paths: Iterable[Path]) -> dict[Path, DatasetProblem]:
    """Decode every image at a small size (two threads: Pillow releases the GIL while decoding)."""

    def check(path: Path) -> DatasetProblem | None:
        try:
            open_image(path, target_size=_CHECK_SIZE)
        except ImageReadError as error:
            return DatasetProblem(path, error.reason)
        return None

    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        results = pool.map(check, paths)
        return {problem.path: problem for problem in results if problem is not None}


def _listing(problems: Sequence[DatasetProblem]) -> str:
    lines = [f"  {problem}" for problem in problems[:_MAX_LISTED]]
    if len(problems) > _MAX_LISTED:
        lines.append(f"  ... and {len(problems) - _MAX_LISTED} more")
    return "\n".join(lines)


def _quoted(names: Sequence[str]) -> str:
    return ", ".join(repr(name) for name in names)
