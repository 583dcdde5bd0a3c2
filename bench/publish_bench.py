"""Republishing after a rebuild: `publish` against `aws s3 sync`, on a local SeaweedFS server.

A generated site (~300 files) is published once; then it is rebuilt the way Pelican rebuilds
(every file written again: same bytes, new mtimes) and published again. A counting proxy on
127.0.0.1 in front of the server counts each tool's requests and bytes. `aws s3 sync`
compares size and mtime, so a rebuild makes it send everything again; `publish` compares
MD5 with ETag and sends nothing. awscli conflicts with pelican, so it runs in its own
environment (`uvx --from awscli`).
"""

from __future__ import annotations

import http.client
import http.server
import io
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from s3_publish.local_s3 import LocalS3
from s3_publish.settings import PublishSettings
from s3_publish.sync import publish

PAGES = 200
STYLES = 30
SCRIPTS = 20
ICONS = 40
PHOTOS = 6


class CountingProxy(http.server.ThreadingHTTPServer):
    """Forwards every request to the S3 server unchanged (Host included, so signatures hold)
    and counts requests by method and bytes each way."""

    daemon_threads = True

    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.lock = threading.Lock()
        self.reset()
        super().__init__(("127.0.0.1", 0), _CountingHandler)

    def reset(self) -> None:
        self.requests: dict[str, int] = {}
        self.sent = 0  # request bodies, client -> server
        self.received = 0  # response bodies, server -> client

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def snapshot(self) -> dict:
        with self.lock:
            return {
                "requests": sum(self.requests.values()),
                "by_method": dict(sorted(self.requests.items())),
                "sent": self.sent,
                "received": self.received,
            }


class _CountingHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: CountingProxy

    def _forward(self) -> None:
        body = self._read_body()
        conn = http.client.HTTPConnection("127.0.0.1", self.server.upstream_port, timeout=120)
        conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for name, value in self.headers.items():
            if name.lower() != "transfer-encoding":
                conn.putheader(name, value)
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body or None)
        response = conn.getresponse()
        data = response.read()
        conn.close()
        with self.server.lock:
            self.server.requests[self.command] = self.server.requests.get(self.command, 0) + 1
            self.server.sent += len(body)
            self.server.received += len(data)
        self.send_response(response.status, response.reason)
        for name, value in response.getheaders():
            if name.lower() not in ("transfer-encoding", "content-length", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward  # noqa: N815

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        pass


def write_site(root: Path) -> int:
    """A school-site-shaped folder; the same bytes every time it is written."""
    from PIL import Image

    count = 0

    def write(name: str, data: bytes) -> None:
        nonlocal count
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        count += 1

    para = "<p>" + "Students planted tomatoes and beans in the garden beds. " * 30 + "</p>"
    for i in range(PAGES):
        write(f"news/2026/story-{i:03d}/index.html", f"<!doctype html><h1>{i}</h1>{para}".encode())
    for i in range(STYLES):
        write(f"theme/css/part-{i:02d}.css", (f".c{i} {{ color: #{i:06x}; }}\n" * 200).encode())
    for i in range(SCRIPTS):
        write(f"theme/js/mod-{i:02d}.js", (f"export const v{i} = {i};\n" * 300).encode())
    for i in range(ICONS):
        svg = f"<svg xmlns='http://www.w3.org/2000/svg'><circle r='{i}'/></svg>"
        write(f"images/icons/icon-{i:02d}.svg", svg.encode())
    for i in range(PHOTOS):
        image = Image.new("RGB", (640, 480), (20 * i % 256, 120, 200))
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        write(f"images/gallery/field-{i:02d}.png", buffer.getvalue())
    write("feeds/all.atom.xml", b"<?xml version='1.0'?><feed>" + b"<entry/>" * 200 + b"</feed>")
    write("sitemap.xml", b"<?xml version='1.0'?><urlset>" + b"<url/>" * 200 + b"</urlset>")
    return count


def consent_checker(tmp: Path):
    """The real re-check over an empty registry (the generated photos hold no faces)."""
    from consent_registry.registry import Registry
    from consent_registry.settings import GateSettings
    from s3_publish.consent import registry_checker

    gate = GateSettings.from_mapping(
        {
            "CONSENT_REGISTRY": str(tmp / "consent" / "registry.sqlite3"),
            "CONSENT_KEY_FILE": str(tmp / "consent" / "consent.key"),
            "CONSENT_CACHE_DIR": str(tmp / "cache"),
            "CONSENT_REPORT_PATH": str(tmp / "report.json"),
            "CONSENT_MANIFEST_PATH": str(tmp / "manifest.json"),
        }
    )
    Registry.open(gate.registry, gate.key_file).close()
    return registry_checker(gate, progress=False), gate


def gate_site(output: Path, gate) -> None:
    """The consent gate over the generated site, as a build ends: it writes the manifest."""
    from datetime import date

    from site_gate.gate import run_gate

    outcome = run_gate(output, gate, siteurl="", placeholder="", today=date.today(), progress=False)
    outcome.write_manifest(gate.manifest_path, output)


def run_publish(output: Path, endpoint: str, bucket: str, checker) -> tuple[float, float]:
    """Seconds for the whole publish, and of those, seconds in the consent re-check."""
    settings = PublishSettings.from_mapping(
        {"S3_BUCKET": bucket, "S3_ENDPOINT_URL": endpoint, "S3_MAX_DELETES": None}, env={}
    )
    check, gate = checker
    checking = 0.0

    def timed_check(files, names, hashes=None):
        nonlocal checking
        started = time.perf_counter()
        try:
            return check(files, names, hashes)
        finally:
            checking += time.perf_counter() - started

    started = time.perf_counter()
    publish(output, settings, timed_check, gate.manifest_path)
    return time.perf_counter() - started, checking


def run_aws_sync(output: Path, endpoint: str, bucket: str, env: dict) -> tuple[float, str]:
    uvx = shutil.which("uvx")
    if uvx is None:
        raise RuntimeError("uvx is not on PATH")
    cmd = [uvx, "--from", "awscli", "aws", "s3", "sync", str(output), f"s3://{bucket}/",
           "--endpoint-url", endpoint, "--no-progress", "--only-show-errors"]  # fmt: skip
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"aws s3 sync failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return elapsed, proc.stdout


def fmt(stats: dict) -> str:
    methods = ", ".join(f"{m} {n}" for m, n in stats["by_method"].items())
    return (
        f"{stats['requests']:4d} requests ({methods or 'none'}), "
        f"{stats['sent'] / 1e6:6.2f} MB sent, {stats['received'] / 1e6:6.2f} MB received"
    )


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="publish-bench-") as tmp_name:
        tmp = Path(tmp_name)
        for key in ("CONSENT_REGISTRY", "CONSENT_KEY_FILE"):
            os.environ.pop(key, None)
        checker = consent_checker(tmp)
        site = tmp / "output"
        files = write_site(site)
        gate_site(site, checker[1])
        size = sum(p.stat().st_size for p in site.rglob("*") if p.is_file())
        print(f"site: {files} files, {size / 1e6:.2f} MB ({PHOTOS} photos re-checked for consent)")

        with LocalS3(tmp / "s3data") as server:
            proxy = CountingProxy(int(server.endpoint_url.rsplit(":", 1)[1]))
            threading.Thread(target=proxy.serve_forever, daemon=True).start()
            env = {**os.environ, **server.env()}
            env.pop("AWS_PROFILE", None)
            os.environ.update(server.env())
            results = {}
            for tool in ("publish", "aws s3 sync"):
                bucket = "bench-publish" if tool == "publish" else "bench-awscli"
                server.create_bucket(bucket)
                rounds = {}
                for label in ("first upload", "republish after rebuild"):
                    if label.startswith("republish"):
                        time.sleep(1.1)  # a rebuild comes later: mtimes move on
                        write_site(site)
                        gate_site(site, checker[1])
                    proxy.reset()
                    note = ""
                    if tool == "publish":
                        elapsed, checking = run_publish(site, proxy.endpoint, bucket, checker)
                        note = f"  (consent re-check {checking:.2f} s)"
                    else:
                        try:
                            elapsed, _ = run_aws_sync(site, proxy.endpoint, bucket, env)
                        except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
                            print(f"aws s3 sync could not run: {exc}")
                            break
                    rounds[label] = (elapsed, proxy.snapshot())
                    print(f"{tool:12s} {label:24s} {elapsed:6.2f} s  {fmt(rounds[label][1])}{note}")
                results[tool] = rounds
            proxy.shutdown()
            proxy.server_close()

        label = "republish after rebuild"
        ours = results["publish"].get(label)
        theirs = results.get("aws s3 sync", {}).get(label)
        if ours and theirs:
            (t1, s1), (t2, s2) = ours, theirs
            print(
                f"\nrepublish after an identical rebuild: publish sends "
                f"{s1['requests']} requests / {s1['sent'] / 1e6:.2f} MB; aws s3 sync sends "
                f"{s2['requests']} requests / {s2['sent'] / 1e6:.2f} MB "
                f"(requests ratio {s2['requests'] / max(1, s1['requests']):.1f}x, "
                f"time {t1:.2f} s vs {t2:.2f} s)"
            )
            if s1["sent"] != 0 or s1["requests"] >= s2["requests"]:
                print("target missed: publish should send no bytes and fewer requests")
                return 1
        elif ours:
            t1, s1 = ours
            print(f"\npublish alone: {s1['requests']} requests, {s1['sent']} bytes sent")
    return 0
