"""The `wardcam` command line."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from app.settings import InsecureSettingsError, Settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from app.context import AppContext
    from app.footage.models import Segment
    from ingest.nvr import NvrFile

cli = typer.Typer(
    help="wardcam: index CCTV footage by time and place; court-ready evidence.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
admin_cli = typer.Typer(help="Administration.", no_args_is_help=True)
audit_cli = typer.Typer(help="The audit log.", no_args_is_help=True)
cli.add_typer(admin_cli, name="admin")
cli.add_typer(audit_cli, name="audit")


def _settings() -> Settings:
    settings = Settings()
    try:
        settings.check_secure()
    except InsecureSettingsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    return settings


def _migrated_engine(settings: Settings) -> Engine:
    from app.db import make_engine, run_migrations

    engine = make_engine(settings.database_url, pool=False)
    run_migrations(engine)
    return engine


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="bind address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes")] = 1,
) -> None:
    """Run the HTTP API (migrations first)."""
    import uvicorn

    settings = _settings()
    _migrated_engine(settings).dispose()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    uvicorn.run("app.asgi:app", host=host, port=port, workers=workers, log_level="info")


def _context() -> AppContext:
    from app.context import AppContext
    from app.db import run_migrations

    ctx = AppContext.from_settings(_settings())
    run_migrations(ctx.engine)
    return ctx


@cli.command("import")
def import_folder(
    folder: Annotated[Path, typer.Argument(help="NVR export folder", exists=True, file_okay=False)],
    camera: Annotated[int, typer.Option("--camera", help="camera id")],
    pattern: Annotated[
        str | None,
        typer.Option(
            help="strftime layout of the start time in file names, e.g. '%Y%m%d_%H%M%S' "
            "(read in the camera's time zone); default: common NVR layouts, then metadata"
        ),
    ] = None,
) -> None:
    """Import an NVR export folder (resumable: files already imported are skipped)."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    from app.footage.importer import ImportAborted, import_files, plan

    ctx = _context()
    console = Console(stderr=True)
    try:
        cam, files = plan(ctx, folder.resolve(), camera, pattern)
    except ImportAborted as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[files]}/" + f"{len(files)} files"),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(f"camera {camera}", total=sum(f.size for f in files), files=0)
        done = [0]

        def on_file(f: NvrFile, outcome: str) -> None:
            done[0] += 1
            name = f"{outcome:>8} {f.path.name}"[:40]
            progress.update(task, advance=f.size, files=done[0], description=name)

        summary = import_files(ctx, folder.resolve(), cam, files, on_file=on_file)
    typer.echo(
        f"ingested {len(summary.ingested)} files ({summary.bytes_ingested} bytes), "
        f"skipped {len(summary.skipped)} already imported, "
        f"rejected {len(summary.rejected)}"
    )
    for path, reason in summary.rejected:
        typer.echo(f"  rejected {path}: {reason}")
    ctx.close()
    if summary.rejected:
        raise typer.Exit(1)


@cli.command()
def record(
    camera: Annotated[int, typer.Option("--camera", help="camera id")],
    segment_seconds: Annotated[float | None, typer.Option(help="segment length")] = None,
    max_segments: Annotated[int | None, typer.Option(help="stop after this many")] = None,
    realtime: Annotated[bool, typer.Option(help="pace a file source like a live camera")] = False,
) -> None:
    """Pull the camera's stream and store fixed-length segments (Ctrl-C stops cleanly)."""
    import signal
    import threading

    from app.footage.recording import RecordingAborted, record_camera

    ctx = _context()
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def show(segment: Segment) -> None:
        mark = f" (cut short: {segment.truncated_reason})" if segment.truncated else ""
        typer.echo(
            f"segment {segment.id}: {segment.start.isoformat()} "
            f"{segment.duration_s:.1f}s sha256 {segment.sha256[:16]}…{mark}"
        )

    try:
        summary = record_camera(
            ctx,
            camera,
            stop=stop,
            segment_seconds=segment_seconds,
            max_segments=max_segments,
            realtime=realtime,
            on_segment=show,
        )
    except RecordingAborted as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"recorded {summary.segments} segments over {summary.connections} connections")
    ctx.close()


@cli.command()
def worker(
    concurrency: Annotated[int, typer.Option(help="jobs at once")] = 1,
    record_cameras: Annotated[
        list[int] | None,
        typer.Option("--record", help="also record this camera's stream (repeatable)"),
    ] = None,
) -> None:
    """Run jobs: a Celery worker when WARDCAM_BROKER_URL is set, else the in-process pool."""
    import signal
    import threading

    from app.footage.recording import record_camera

    ctx = _context()
    logging.basicConfig(
        level=ctx.settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    ctx.detectors.get()  # fail at start-up, naming WARDCAM_DETECTOR_MODEL, not per job
    stop = threading.Event()
    for cam in record_cameras or []:
        threading.Thread(
            target=record_camera, args=(ctx, cam), daemon=True, kwargs={"stop": stop}
        ).start()
    if ctx.settings.broker_url:
        from app.jobs.celery_app import QUEUE, celery_app

        celery_app.worker_main(
            [
                "worker",
                "-Q",
                QUEUE,
                "--concurrency",
                str(concurrency),
                "--pool",
                "prefork" if concurrency > 1 else "solo",
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
            ]
        )
        stop.set()
        return
    from app.jobs.pool import InProcessPool

    pool = InProcessPool(ctx, concurrency)
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    pool.start()
    typer.echo(f"in-process worker: {concurrency} thread(s); Ctrl-C stops")
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    stop.set()
    pool.stop()
    ctx.close()


@cli.command()
def detect(
    file: Annotated[Path, typer.Argument(help="a video file", exists=True, dir_okay=False)],
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per event")] = False,
    start: Annotated[
        str | None,
        typer.Option(help="ISO 8601 time of the first frame; event times are then absolute"),
    ] = None,
) -> None:
    """Run the indexing pipeline on one file (no database): the events it finds."""
    import json
    import os
    from datetime import datetime, timedelta

    from detectors import Detector, DetectorLoadError, PipelineConfig, run_pipeline

    t0 = None
    if start is not None:
        try:
            t0 = datetime.fromisoformat(start)
        except ValueError:
            typer.echo(f"error: --start {start!r} is not ISO 8601", err=True)
            raise typer.Exit(2) from None
        if t0.tzinfo is None:
            typer.echo(
                "error: --start needs a UTC offset, e.g. 2024-05-01T10:00:00+05:45", err=True
            )
            raise typer.Exit(2)
    model = os.environ.get("WARDCAM_DETECTOR_MODEL", "yolo11n.pt")
    device = os.environ.get("WARDCAM_DETECTOR_DEVICE", "auto")
    try:
        detector = Detector(model, device)
    except DetectorLoadError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    result = run_pipeline(file, detector, PipelineConfig())

    def when(seconds: float) -> str | float:
        if t0 is None:
            return round(seconds, 3)
        return (t0 + timedelta(seconds=seconds)).isoformat(timespec="milliseconds")

    for ev in sorted(result.events, key=lambda e: (e.start_s, e.track_id)):
        row = {
            "label": ev.label,
            "start": when(ev.start_s),
            "end": when(ev.end_s),
            "confidence": round(float(ev.confidence), 4),
            "color": ev.color,
        }
        if as_json:
            typer.echo(json.dumps(row))
        else:
            typer.echo(
                f"{row['start']!s:>30} -> {row['end']!s:<30} {ev.label:<10} "
                f"{ev.confidence:.2f} {ev.color or ''}"
            )
    if result.error:
        typer.echo(
            f"error: decoding stopped after frame {result.frames_decoded} of "
            f"{result.frames_total}: {result.error}",
            err=True,
        )
        raise typer.Exit(1)


@cli.command()
def demo(
    data_dir: Annotated[Path | None, typer.Option(help="fresh directory for this demo")] = None,
    footage: Annotated[Path | None, typer.Option(help="a sample video file")] = None,
) -> None:
    """Run the whole story on the embedded default: ward, camera, footage, index, search,
    case, approved extraction, signed package, offline verification."""
    import datetime as dt

    from app.demo import DemoFailed, run_demo

    root = Path(__file__).resolve().parents[1]
    footage = footage or root.parent / "shared" / "assets" / "footage" / (
        "intersection_cctv_day.mp4"
    )
    if not footage.is_file():
        typer.echo(f"error: sample footage not found at {footage}; pass --footage FILE", err=True)
        raise typer.Exit(2)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    data_dir = data_dir or Path("data") / f"demo-{stamp}"
    if data_dir.exists() and any(data_dir.iterdir()):
        typer.echo(f"error: {data_dir} is not empty; the demo needs a fresh directory", err=True)
        raise typer.Exit(2)
    logging.basicConfig(level=logging.WARNING)
    try:
        run_demo(data_dir.resolve(), footage)
    except DemoFailed as exc:
        typer.echo(f"demo failed: {exc}", err=True)
        raise typer.Exit(1) from None


@cli.command()
def verify(
    package: Annotated[Path, typer.Argument(help="evidence package (.zip)")],
    trusted_key: Annotated[
        Path | None,
        typer.Option(
            help="PEM public key the package must be signed with (from the issuing service's "
            "/.well-known/wardcam-signing-key)"
        ),
    ] = None,
    trusted_fingerprint: Annotated[
        str | None,
        typer.Option(help="SHA-256 fingerprint of that key (64 hex digits)"),
    ] = None,
    accept_unpinned_key: Annotated[
        bool,
        typer.Option(help="accept whatever key signed the package (reported as NOT PINNED)"),
    ] = False,
) -> None:
    """Check an evidence package offline; exit 0 only if every hash and the signature hold
    and the signing key is pinned (--trusted-key or --trusted-fingerprint)."""
    from evidence.cli import main as verify_main

    argv = [str(package)]
    if trusted_key is not None:
        argv += ["--trusted-key", str(trusted_key)]
    if trusted_fingerprint is not None:
        argv += ["--trusted-fingerprint", trusted_fingerprint]
    if accept_unpinned_key:
        argv.append("--accept-unpinned-key")
    raise typer.Exit(verify_main(argv))


@admin_cli.command("retention")
def retention_now() -> None:
    """Run the retention sweep now (legal holds respected) and print what it deleted."""
    from app.retention.service import sweep

    ctx = _context()
    report = sweep(ctx)
    for cam in sorted(set(report.deleted_segments) | set(report.held) | set(report.locked)):
        typer.echo(
            f"camera {cam}: deleted {report.deleted_segments.get(cam, 0)} segments "
            f"({report.deleted_events.get(cam, 0)} events), held "
            f"{report.held.get(cam, 0)}, locked {report.locked.get(cam, 0)}"
        )
    typer.echo(f"retention: {report.total_deleted} segments deleted")
    ctx.close()


@admin_cli.command("bootstrap")
def bootstrap(
    username: Annotated[str, typer.Option(help="the admin's user name")] = "admin",
    if_needed: Annotated[
        bool, typer.Option("--if-needed", help="exit 0 quietly when an admin exists")
    ] = False,
) -> None:
    """Create the first admin and print its API key once."""
    from app.db import session_scope
    from app.identity import repository
    from app.identity.models import Role
    from app.identity.schemas import UserCreate
    from app.identity.service import create_user

    settings = _settings()
    engine = _migrated_engine(settings)
    with session_scope(engine) as session:
        if repository.admin_exists(session):
            typer.echo("an admin already exists; its key was printed when it was created")
            raise typer.Exit(0 if if_needed else 1)
        _, token = create_user(session, None, UserCreate(username=username, role=Role.admin))
    engine.dispose()
    typer.echo(f"admin user: {username}")
    typer.echo(f"API key (shown once, store it now): {token}")


@audit_cli.command("verify")
def audit_verify() -> None:
    """Check the audit chain; exit 0 only if it is intact."""
    from app.audit.service import verify_chain
    from app.db import make_engine, read_session

    settings = _settings()
    engine = make_engine(settings.database_url, pool=False)
    with read_session(engine) as session:
        report = verify_chain(session)
    engine.dispose()
    if report.ok:
        typer.echo(f"audit chain intact: {report.entries} entries, head {report.head_seq}")
        return
    typer.echo(
        f"audit chain BROKEN at entry {report.first_broken_seq}"
        f" (row id {report.first_broken_id}): {report.reason}",
        err=True,
    )
    raise typer.Exit(1)


def main() -> None:
    try:
        cli()
    except InsecureSettingsError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
