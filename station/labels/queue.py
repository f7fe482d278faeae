"""A print queue kept as a folder of JSON jobs: a printer that is off loses no labels."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from station import messages
from station.errors import InputError, PrinterError
from station.labels.model import LabelData

log = logging.getLogger("station.labels.queue")


class PartlyPrinted(PrinterError):
    """The printer stopped after the first ``printed`` labels; only the rest stay queued."""

    def __init__(self, printer: str, problem: str, *, printed: int, hint: str = "") -> None:
        super().__init__(printer, problem, hint=hint)
        self.printed = printed


class Printer(Protocol):
    """Anything that prints labels now or raises :class:`PrinterError`
    (:class:`PartlyPrinted` when some of them came out)."""

    @property
    def name(self) -> str: ...

    def print_labels(self, labels: Sequence[LabelData]) -> None: ...


@dataclass(frozen=True)
class PrintJob:
    id: str
    created: str
    printer: str
    labels: tuple[LabelData, ...]
    attempts: int = 0
    last_error: str = ""


class PrintQueue:
    """Jobs for one printer, one file each in ``folder`` until they printed.

    Sending is blocking socket or USB I/O: call these from a worker thread
    (``asyncio.to_thread``), never on the event loop or the GUI thread. A lock serialises
    submit and retry, so a Retry pressed while a job prints cannot print it twice.
    """

    def __init__(self, folder: Path, printer: Printer) -> None:
        self.folder = folder
        self.printer = printer
        self._lock = threading.Lock()
        folder.mkdir(parents=True, exist_ok=True)

    def _path(self, job_id: str) -> Path:
        return self.folder / f"{job_id}.json"

    def _save(self, job: PrintJob) -> None:
        body = {
            "id": job.id,
            "created": job.created,
            "printer": job.printer,
            "attempts": job.attempts,
            "last_error": job.last_error,
            "labels": [label.to_json() for label in job.labels],
        }
        tmp = self.folder / f".{job.id}.tmp"
        tmp.write_text(json.dumps(body, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp, self._path(job.id))  # a crash leaves the old file or the new, never half

    def _load(self, path: Path) -> PrintJob | None:
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
            return PrintJob(
                id=str(body["id"]),
                created=str(body["created"]),
                printer=str(body["printer"]),
                labels=tuple(LabelData.from_json(item) for item in body["labels"]),
                attempts=int(body.get("attempts", 0)),
                last_error=str(body.get("last_error", "")),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            # One damaged file (a full disk, an edit by hand) must not block the jobs after it.
            aside = path.with_name(path.name + ".damaged")
            log.error("print job %s is damaged (%r); moved aside to %s", path, exc, aside.name)
            try:
                os.replace(path, aside)
            except OSError as move_error:
                log.error("cannot move %s aside: %s", path, move_error)
            return None

    def pending(self) -> list[PrintJob]:
        """Jobs not printed yet, oldest first; damaged job files are moved aside."""
        jobs = (self._load(p) for p in sorted(self.folder.glob("*.json")))
        return [job for job in jobs if job is not None]

    def submit(self, labels: Sequence[LabelData]) -> PrintJob:
        """Queue ``labels`` and print them now; on PrinterError the job stays queued.

        Raises:
            PrinterError: the printer is off or unreachable (the hint says what to do).
        """
        if not labels:
            raise InputError(messages.NO_LABELS)
        now = dt.datetime.now(dt.UTC)
        # The time first in the name keeps the folder sorted oldest first.
        job_id = f"{now.strftime('%Y%m%dT%H%M%S%f')}-{uuid.uuid4().hex[:8]}"
        job = PrintJob(job_id, now.isoformat(timespec="seconds"), self.printer.name, tuple(labels))
        with self._lock:
            self._save(job)
            self._attempt(job)
        return job

    def _attempt(self, job: PrintJob) -> None:
        try:
            self.printer.print_labels(job.labels)
        except PrinterError as exc:
            # Labels that came out are not printed again on Retry.
            done = exc.printed if isinstance(exc, PartlyPrinted) else 0
            failed = PrintJob(
                job.id,
                job.created,
                job.printer,
                job.labels[done:],
                job.attempts + 1,
                str(exc),
            )
            self._save(failed)
            log.warning("print job %s kept for a retry: %s", job.id, exc)
            raise
        self._path(job.id).unlink(missing_ok=True)
        log.info("print job %s: %d label(s) printed on %s", job.id, len(job.labels), job.printer)

    def retry_pending(self) -> list[PrintJob]:
        """Print every queued job in order; stop at the first failure (the printer is still off).

        Returns the jobs that printed. Raises PrinterError when one did not; it and the jobs
        after it stay queued.
        """
        printed: list[PrintJob] = []
        with self._lock:
            for job in self.pending():
                self._attempt(job)
                printed.append(job)
        return printed
