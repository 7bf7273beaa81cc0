"""The `wardcam` command line."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from app.settings import InsecureSettingsError, Settings

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlmodel import Session

    from app.context import AppContext
    from app.footage.models import Segment
    from app.identity.models import User
    from ingest.nvr import NvrFile

cli = typer.Typer(
    help="wardcam: index CCTV footage by time and place; court-ready evidence.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
admin_cli = typer.Typer(help="Administration.", no_args_is_help=True)
audit_cli = typer.Typer(help="The audit log.", no_args_is_help=True)
users_cli = typer.Typer(
    help="Users and their API keys: list, deactivate/reactivate, revoke/rotate keys "
    "(audited, with no actor and via=cli).",
    no_args_is_help=True,
)
cli.add_typer(admin_cli, name="admin")
cli.add_typer(audit_cli, name="audit")
admin_cli.add_typer(users_cli, name="users")


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

    from app.observability import logs

    settings = _settings()
    logs.configure(settings.log_level, settings.log_format)
    _migrated_engine(settings).dispose()
    uvicorn.run(
        "app.asgi:app",
        host=host,
        port=port,
        workers=workers,
        # h11, not httptools: httptools reads headers of any size (an 8 MB header was
        # accepted); h11 refuses a request line + headers over WARDCAM_MAX_HEADER_BYTES.
        http="h11",
        h11_max_incomplete_event_size=settings.max_header_bytes,
        timeout_keep_alive=settings.keepalive_s,
        timeout_graceful_shutdown=settings.shutdown_timeout_s,
        log_config=logs.logging_config(settings.log_level, settings.log_format),
        access_log=False,  # app.observability.logs writes one with the request id
    )


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
    """Pull the camera's stream and store fixed-length segments (Ctrl-C stops cleanly); by
    hand, for a camera no worker records (refused while one does)."""
    import signal
    import threading

    from app.db import read_session
    from app.fleet.service import recorded_by
    from app.footage.recording import RecordingAborted, record_camera

    ctx = _context()
    with read_session(ctx.engine) as session:
        holder = recorded_by(session, camera)
    if holder is not None:  # two recorders of one camera would store its footage twice
        typer.echo(f"error: camera {camera} is recorded by worker {holder} already", err=True)
        raise typer.Exit(2)
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
def recorders(
    capacity: Annotated[
        int | None, typer.Option(help="camera streams at most (default WARDCAM_RECORD_CAPACITY)")
    ] = None,
    processes: Annotated[
        int,
        typer.Option(
            min=1,
            help="recording processes (each its own worker; the capacity is split between them)",
        ),
    ] = 1,
) -> None:
    """Record every active camera (a share of them: leases in the database), nothing else.

    A recording-only node: no detector is loaded. Ctrl-C or SIGTERM stops cleanly (open
    segments are stored). `--processes N` runs N supervisors in child processes (past about
    a hundred cameras one process spends its time on the GIL); a child that dies is started
    again, and the command exits 1 if they keep dying."""
    import os
    import signal
    import threading

    from app.fleet.processes import Pool, parent_gone, pool_size, shares
    from app.observability import logs

    if processes > 1:
        settings = _settings()
        total = settings.record_capacity if capacity is None else capacity
        try:
            split = shares(total, processes)
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        typer.echo(
            f"recorders {os.getpid()}: {processes} processes, up to "
            f"{'+'.join(map(str, split))} streams",
            err=True,
        )
        status = Pool(split, lambda line: typer.echo(line, err=True)).run()
        raise typer.Exit(status)

    from app.fleet.supervisor import Supervisor

    ctx = _context()
    logs.configure(ctx.settings.log_level, ctx.settings.log_format)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    sup = Supervisor(ctx, capacity, pool=pool_size()).start()
    typer.echo(f"recording supervisor {sup.worker}: up to {sup.capacity} streams", err=True)
    while not stop.wait(1.0):
        if parent_gone():  # a child of `--processes N` whose parent was killed
            typer.echo(f"recording supervisor {sup.worker}: parent gone; stopping", err=True)
            break
    sup.stop()
    ctx.close()


@cli.command()
def beat() -> None:
    """Send the periodic tasks (retention sweeps, the offline watch) to the Celery workers.

    Needed exactly once per deployment when WARDCAM_BROKER_URL is set: the embedded default
    runs them inside `wardcam serve`, but a Celery deployment has no other clock, and without
    it footage past retention is never deleted and no camera is ever reported offline."""
    from app.observability import logs

    settings = _settings()
    if not settings.broker_url:
        typer.echo(
            "error: wardcam beat needs WARDCAM_BROKER_URL (the embedded default runs the"
            " periodic tasks inside wardcam serve)",
            err=True,
        )
        raise typer.Exit(2)
    logs.configure(settings.log_level, settings.log_format)
    from app.jobs.celery_app import celery_app

    typer.echo(
        f"beat: retention every {settings.retention_interval_s} s, offline watch every "
        f"{settings.notify_watch_interval_s:g} s",
        err=True,
    )
    celery_app.start(["beat", "--loglevel", "INFO"])


@cli.command()
def worker(
    concurrency: Annotated[int, typer.Option(help="jobs at once")] = 1,
    record_capacity: Annotated[
        int | None,
        typer.Option(help="camera streams this worker records (default WARDCAM_RECORD_CAPACITY)"),
    ] = None,
) -> None:
    """Run jobs: a Celery worker when WARDCAM_BROKER_URL is set, else the in-process pool.
    Either way it also records its share of the cameras (`app.fleet`)."""
    import signal
    import threading

    from app.fleet.supervisor import Supervisor
    from app.observability import logs

    ctx = _context()
    logs.configure(ctx.settings.log_level, ctx.settings.log_format)
    from detectors import DetectorLoadError

    ctx.detectors.used_here = True
    ctx.detectors.jobs_at_once = concurrency
    try:
        ctx.detectors.get()  # load now, not on the first job
    except DetectorLoadError as exc:  # evidence jobs still run; index jobs fail saying this
        typer.echo(f"warning: no detector, index jobs will fail until fixed: {exc}", err=True)
    stop = threading.Event()
    sup = Supervisor(ctx, record_capacity)
    if sup.capacity > 0:
        sup.start()
    if ctx.settings.broker_url:
        from app.jobs.celery_app import QUEUE, celery_app
        from app.storage.download import remove_orphaned_copies

        remove_orphaned_copies()  # footage copied by jobs of a worker that was killed
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
        sup.stop()
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
    sup.stop()
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
    threads_env = os.environ.get("WARDCAM_DETECTOR_THREADS", "").strip() or "0"
    if not threads_env.isdigit():
        typer.echo(
            f"error: WARDCAM_DETECTOR_THREADS={threads_env!r} is not a whole number "
            "(0: every core)",
            err=True,
        )
        raise typer.Exit(2)
    try:
        detector = Detector(model, device, threads=int(threads_env) or None)
    except DetectorLoadError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    result = run_pipeline(file, detector, PipelineConfig.from_env())

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
    if result.note:
        typer.echo(f"warning: {result.note}", err=True)
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
    # A fixed traffic camera over a Saigon intersection (../shared/assets/README.md).
    footage = footage or root.parent / "shared" / "assets" / "footage" / (
        "vn_intersection_saigon_day.mp4"
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
    base_url: Annotated[
        str | None,
        typer.Option(help="where people reach the console; default WARDCAM_PUBLIC_URL"),
    ] = None,
    served_at: Annotated[
        str | None,
        typer.Option(help="where `serve` listens: the link's address when neither is set"),
    ] = None,
) -> None:
    """Create the first admin and print its API key once, and a one-time link with which it
    sets its console password (nobody is there yet to invite it from the console; `wardcam
    admin users invite` prints a newer link)."""
    from app.db import session_scope
    from app.identity import repository
    from app.identity.models import Role
    from app.identity.schemas import UserCreate
    from app.identity.service import create_user
    from app.signin.service import create_invitation

    settings = _settings()
    engine = _migrated_engine(settings)
    with session_scope(engine) as session:
        if repository.admin_exists(session):
            typer.echo(
                "an admin already exists; its key was printed when it was created "
                "(`wardcam admin users invite NAME` prints a new console link)"
            )
            raise typer.Exit(0 if if_needed else 1)
        user, token = create_user(session, None, UserCreate(username=username, role=Role.admin))
        made = create_invitation(session, None, user.id or 0, settings)
    engine.dispose()
    typer.echo(f"admin user: {username}")
    typer.echo(f"API key (shown once, store it now): {token}")
    until = f"{made.invitation.expires_at:%Y-%m-%d %H:%M} UTC"
    typer.echo(f"console: set the admin's password with this link (works once, until {until}):")
    typer.echo(made.url(_console_base(base_url, settings, served_at)))


def _console_base(base_url: str | None, settings: Settings, served_at: str | None = None) -> str:
    return (base_url or settings.public_url or served_at or "http://localhost:8000").rstrip("/")


@contextmanager
def _user_step(username: str) -> Iterator[tuple[Session, User]]:
    """A unit of work on one user, by name; exit 2 when there is none."""
    from app.db import session_scope
    from app.identity import repository

    engine = _migrated_engine(_settings())
    try:
        with session_scope(engine) as session:
            user = repository.user_named(session, username)
            if user is None:
                typer.echo(f"error: no user named {username!r}", err=True)
                raise typer.Exit(2)
            yield session, user
    finally:
        engine.dispose()


@users_cli.command("list")
def users_list(
    org: Annotated[int | None, typer.Option(help="only this organisation's users")] = None,
    role: Annotated[str | None, typer.Option(help="only this role")] = None,
    inactive: Annotated[bool, typer.Option("--inactive", help="only deactivated users")] = False,
) -> None:
    """Users with their role, organisation, unit, state and live keys (prefixes only)."""
    from app.db import read_session
    from app.identity import repository
    from app.identity.models import Role

    try:
        wanted = Role(role) if role else None
    except ValueError:
        typer.echo(f"error: unknown role {role!r}; one of {', '.join(Role)}", err=True)
        raise typer.Exit(2) from None
    engine = _migrated_engine(_settings())
    with read_session(engine) as session:
        after = 0
        rows: list[User] = []
        while batch := repository.list_users(
            session,
            org_id=org,
            role=wanted,
            active=False if inactive else None,
            after_id=after,
            limit=500,
        ):
            rows.extend(batch)
            after = batch[-1].id or 0
        units = repository.unit_names(session, {u.unit_id for u in rows if u.unit_id})
        typer.echo(
            f"{'id':>5}  {'username':<24} {'role':<12} {'org':>4} {'unit':<16} state    keys"
        )
        for u in rows:
            live = [k.prefix for k in repository.keys_of(session, u.id or 0) if not k.revoked_at]
            typer.echo(
                f"{u.id:>5}  {u.username:<24} {u.role.value:<12} {u.org_id or '-':>4} "
                f"{(units.get(u.unit_id) if u.unit_id else None) or '-':<16} "
                f"{'active' if u.active else 'inactive':<8} {', '.join(live) or '-'}"
            )
    engine.dispose()


@users_cli.command("deactivate")
def users_deactivate(username: Annotated[str, typer.Argument(help="user name")]) -> None:
    """Deactivate a user: every key of theirs is refused from the next request on."""
    from app.errors import ApiError
    from app.identity.service import set_active

    try:
        with _user_step(username) as (session, user):
            set_active(session, None, user, False)
    except ApiError as exc:  # the last admin
        typer.echo(f"error: {exc.detail} ({exc.code})", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"user {username} deactivated; their keys are refused from now on")


@users_cli.command("reactivate")
def users_reactivate(username: Annotated[str, typer.Argument(help="user name")]) -> None:
    """Reactivate a user: their keys that were not revoked work again."""
    from app.identity.service import set_active

    with _user_step(username) as (session, user):
        set_active(session, None, user, True)
    typer.echo(f"user {username} reactivated")


@users_cli.command("revoke-key")
def users_revoke_key(
    username: Annotated[str, typer.Argument(help="user name")],
    prefix: Annotated[
        str | None,
        typer.Option("--key", help="the key's prefix (wc_<prefix>_…); default: every key"),
    ] = None,
) -> None:
    """Revoke one key of a user (by prefix), or all of them."""
    from app.identity import repository
    from app.identity.service import revoke_all, revoke_key

    with _user_step(username) as (session, user):
        if prefix is None:
            revoked = [k.prefix for k in revoke_all(session, None, user)]
        else:
            match = [k for k in repository.keys_of(session, user.id or 0) if k.prefix == prefix]
            if not match:
                typer.echo(f"error: {username} has no key with prefix {prefix!r}", err=True)
                raise typer.Exit(2)
            revoke_key(session, None, user, match[0].id or 0)
            revoked = [prefix]
    typer.echo(f"revoked {len(revoked)} key(s) of {username}: {', '.join(revoked) or '-'}")


@users_cli.command("rotate-key")
def users_rotate_key(username: Annotated[str, typer.Argument(help="user name")]) -> None:
    """Issue a new key for a user (printed once) and revoke every other key of theirs."""
    from app.identity.service import rotate_key

    with _user_step(username) as (session, user):
        done = rotate_key(session, None, user)
    typer.echo(f"revoked {len(done.revoked)} key(s) of {username}")
    typer.echo(f"API key (shown once, store it now): {done.token}")


@users_cli.command("invite")
def users_invite(
    username: Annotated[str, typer.Argument(help="user name")],
    base_url: Annotated[
        str | None,
        typer.Option(help="where people reach the console; default WARDCAM_PUBLIC_URL"),
    ] = None,
) -> None:
    """Print a one-time link with which the user sets their console password (the first
    admin's way into the console; afterwards admins and supervisors invite from the
    console). A newer link replaces an older one."""
    from app.errors import ApiError
    from app.signin.service import create_invitation

    settings = _settings()
    base = _console_base(base_url, settings)
    try:
        with _user_step(username) as (session, user):
            made = create_invitation(session, None, user.id or 0, settings)
    except ApiError as exc:  # a deactivated user
        typer.echo(f"error: {exc.detail} ({exc.code})", err=True)
        raise typer.Exit(1) from None
    until = f"{made.invitation.expires_at:%Y-%m-%d %H:%M} UTC"
    typer.echo(f"invitation for {username} (works once, until {until}):")
    typer.echo(made.url(base))


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
