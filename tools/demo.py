"""`make demo`: build the sample school site through the consent gate, publish it to a local
S3 server (SeaweedFS on 127.0.0.1) and serve the published bucket like a web host.

The demo keeps its own consent registry and key (consent/demo-registry.sqlite3,
consent/demo.key, both git-ignored), so it never touches a school's real records.

`make publish-local` (`--publish-local`): build the site as it will be published, but with the
local server's website address as SITEURL, and publish it into the running demo's bucket
(starting a background server when none runs on the data folder); prints the address.
"""

from __future__ import annotations

import argparse
import errno
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUCKET = "site"
DEMO_REGISTRY = "consent/demo-registry.sqlite3"
DEMO_KEY = "consent/demo.key"


def step(message: str) -> None:
    print(f"\n==> {message}", flush=True)


def build(env: dict[str, str], output: Path, settings: str = "pelicanconf.py") -> None:
    cmd = [sys.executable, "-m", "pelican", "content", "-o", str(output), "-s", settings]
    proc = subprocess.run(cmd, cwd=ROOT, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"demo: the site build failed (pelican exited with {proc.returncode})")


def publish(env: dict[str, str], output: Path, settings: str = "pelicanconf.py") -> None:
    cmd = [
        sys.executable,
        "-m",
        "s3_publish",
        "--settings",
        settings,
        "--output",
        str(output),
        "--bucket",
        BUCKET,
    ]
    proc = subprocess.run(cmd, cwd=ROOT, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"demo: publishing failed (publish exited with {proc.returncode})")


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return True
            raise
    return False


def free_port_after(host: str, port: int) -> int | None:
    return next((p for p in range(port + 1, port + 50) if not port_in_use(host, p)), None)


def check_serve_address(value: str) -> tuple[str, int]:
    """HOST:PORT for the demo's web server, checked before anything is built: a busy port
    is a message naming the `make demo PORT=...` to run instead, not a traceback."""
    host, _, port_text = value.rpartition(":")
    host = host or "127.0.0.1"
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise SystemExit(f"demo: {value!r} is not HOST:PORT, e.g. 127.0.0.1:8000")
    port = int(port_text)
    if port_in_use(host, port):
        other = free_port_after(host, port)
        instead = f"`make demo PORT={other}`" if other else "`make demo PORT=<a free port>`"
        raise SystemExit(
            f"demo: port {port} on {host} is already in use (another `make demo`, "
            f"`make serve` or `make devserver` still running?). Stop that program, or run "
            f"{instead} to serve the demo on another port."
        )
    return host, port


def _stop_on_terminate(signum, frame) -> None:
    # SIGTERM/SIGHUP (a closed terminal, `kill`) unwind like Ctrl-C, so the `with` block
    # below stops the S3 server instead of leaving it running.
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--serve",
        default="127.0.0.1:8000",
        help="where to serve the published site (default: %(default)s)",
    )
    parser.add_argument(
        "--no-serve", action="store_true", help="build and publish, then stop the server"
    )
    parser.add_argument(
        "--publish-local",
        action="store_true",
        help="build with the local server's address as SITEURL and publish into its bucket "
        "(the running demo's, else a background server is started); `make publish-local`",
    )
    parser.add_argument("--output", type=Path, default=ROOT / "output")
    parser.add_argument("--s3-data", type=Path, default=ROOT / ".s3data")
    args = parser.parse_args(argv)
    if args.publish_local:
        return publish_local(args)
    if not args.no_serve:
        host, port = check_serve_address(args.serve)
    # SIGINT too: Python leaves it ignored when the demo was started with it ignored (from
    # a script's background job, as a test suite run with `&` is), and Ctrl-C must stop it.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _stop_on_terminate)
    try:
        return _run(args, None if args.no_serve else (host, port))
    except KeyboardInterrupt:
        print("\nDemo stopped.", flush=True)
        return 130


def _run(args, address: tuple[str, int] | None) -> int:
    from consent_registry.demo import prepare_demo
    from s3_publish.local_s3 import clean_env

    registry = ROOT / DEMO_REGISTRY
    key_file = ROOT / DEMO_KEY
    # The caller's AWS_* variables (another account's keys, a profile) never reach the local
    # server's publish: it uses the server's own credentials only.
    env = {**clean_env(), "CONSENT_REGISTRY": str(registry), "CONSENT_KEY_FILE": str(key_file)}

    step("Copying the demo photos and seeding the demo consent registry")
    copied = prepare_demo(ROOT / "content", registry, key_file)
    for path in copied:
        print(f"    {path.relative_to(ROOT)}")
    print(f"    registry: {registry.relative_to(ROOT)} (one person with consent, one without)")

    step("Building the site through the consent gate")
    build(env, args.output)

    step("Starting the local S3 server (SeaweedFS on 127.0.0.1)")
    from s3_publish.local_s3 import LocalS3, LocalS3Busy, SiteProxy

    # The `with` stops the server however the demo ends: Ctrl-C, SIGTERM, SIGHUP, an error;
    # the server also dies with the demo when the demo is killed outright.
    try:
        server = LocalS3(args.s3_data, public_buckets=[BUCKET]).start()
    except LocalS3Busy as exc:
        raise SystemExit(
            f"demo: {exc}\n`make publish-local` publishes into that server; `make s3-stop` "
            "stops it."
        ) from None
    with server:
        server.create_bucket(BUCKET)
        print(f"    endpoint: {server.endpoint_url}  (data in {args.s3_data})")
        step(f"Publishing output/ to s3://{BUCKET}")
        publish({**env, **server.env()}, args.output)
        print(f"\nThe published site, straight from the bucket: {server.site_url(BUCKET)}")
        print("The consent report (never published): reports/consent-report.json")
        print(
            "Try: .venv/bin/consent list --registry consent/demo-registry.sqlite3 "
            "--key-file consent/demo.key"
        )
        if address is None:
            return 0
        try:
            proxy = SiteProxy(address, server.endpoint_url, BUCKET)
        except OSError as exc:  # taken since the check at the start
            host, port = address
            raise SystemExit(
                f"demo: cannot serve on {host}:{port} ({exc.strerror}); run "
                f"`make demo PORT={free_port_after(host, port) or port + 1}` instead."
            ) from None
        proxy.serve_in_thread()
        # `make publish-local` and `local_s3 status` find the server and its website here.
        server.record(site_url=proxy.url, bucket=BUCKET)
        print(f"\nServing the published site at {proxy.url}  (Ctrl-C stops the demo)", flush=True)
        print("To publish your own changes here: `make publish-local` in another terminal.")
        try:
            while True:
                # Short naps: a signal sent to the process may be taken by another thread
                # (ONNX Runtime's, loaded to seed the demo registry), and Python acts on it
                # only when this thread next runs, not in the middle of a long sleep.
                time.sleep(0.5)
        finally:
            print("\nStopping the demo and its local S3 server...", flush=True)
            proxy.shutdown()
    return 0


def publish_local(args) -> int:
    """Build with the local website's address as SITEURL (publishconf.py, as for the real
    site) and publish into the local bucket; print the address."""
    from s3_publish import local_s3

    state = local_s3.find_running(args.s3_data)
    if state is None:
        step(f"No local S3 server runs on {args.s3_data}: starting one in the background")
        host, _, port_text = args.serve.rpartition(":")
        host, port = host or "127.0.0.1", int(port_text)
        if port_in_use(host, port):
            port = free_port_after(host, port) or 0
        code = local_s3.main(
            ["start", "--data-dir", str(args.s3_data), "--bucket", BUCKET, "--listen",
             f"{host}:{port}"]
        )  # fmt: skip
        state = local_s3.find_running(args.s3_data)
        if code != 0 or state is None:
            raise SystemExit("demo: the local S3 server did not start (see the message above)")
        print(f"    stop it with `make s3-stop` (data in {args.s3_data})")
    else:
        print(
            f"Using the local S3 server running on {args.s3_data}: {state.get('endpoint_url')} "
            f"(pid {state['pid']})"
        )
    bucket = state.get("bucket") or BUCKET
    endpoint = state["endpoint_url"]
    website = state.get("site_url") or local_s3.site_url(endpoint, bucket, page="")
    if not state.get("site_url"):
        print(
            "    note: this server serves no website (started without --listen): pages open "
            f"under {website}, but links to folders need `make demo`'s or `local_s3 serve`'s."
        )
    siteurl = website.rstrip("/")
    env = {**local_s3.clean_env(), **local_s3.server_env(state), "SITEURL": siteurl}
    if "CONSENT_REGISTRY" not in env and not (ROOT / "consent" / "registry.sqlite3").exists():
        # No school registry yet: the demo's, seeded as `make demo` does when missing (a
        # publish without any registry is refused: it would take every photo down).
        if not (ROOT / DEMO_REGISTRY).exists():
            from consent_registry.demo import prepare_demo

            step("No consent registry yet: seeding the demo registry, as `make demo` does")
            prepare_demo(ROOT / "content", ROOT / DEMO_REGISTRY, ROOT / DEMO_KEY)
        env["CONSENT_REGISTRY"] = str(ROOT / DEMO_REGISTRY)
        env.setdefault("CONSENT_KEY_FILE", str(ROOT / DEMO_KEY))
    print(f"    consent registry: {env.get('CONSENT_REGISTRY', 'the settings default')}")
    _ensure_bucket(state, bucket)

    settings = "publishconf.py"
    with tempfile.TemporaryDirectory(prefix="publish-local-") as folder:
        if _render_check_off(env):
            # publish takes the consent settings from its settings file, never weaker from
            # the environment: a quick local preview says so in a file of its own.
            settings = str(_preview_settings(Path(folder)))
            print(
                "    CONSENT_RENDER_CHECK=0: the rendered pages are not face-checked in this "
                "local preview (publishconf.py's build, `make s3_upload`, checks them)"
            )
        step(f"Building the site for {siteurl} (publishconf.py with SITEURL={siteurl})")
        build(env, args.output, settings=settings)
        step(f"Publishing {args.output} to s3://{bucket} on {endpoint}")
        publish(env, args.output, settings=settings)
    print(f"\nPublished: {website}", flush=True)
    return 0


def _render_check_off(env: dict[str, str]) -> bool:
    from site_common.settings import flag

    value = env.get("CONSENT_RENDER_CHECK", "").strip()
    return bool(value) and not flag("CONSENT_RENDER_CHECK", value)


def _preview_settings(folder: Path) -> Path:
    """publishconf.py without the rendered-page check, for a local preview only; its
    relative paths taken from the checkout (Pelican reads them from the file's folder)."""
    conf = folder / "publish_local_preview.py"
    conf.write_text(
        "import os\nimport sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from publishconf import *  # noqa: F403\n"
        f"PATH, THEME = (os.path.join({str(ROOT)!r}, p) for p in (PATH, THEME))  # noqa: F405\n"
        f"PLUGIN_PATHS = [os.path.join({str(ROOT)!r}, p) for p in PLUGIN_PATHS]  # noqa: F405\n"
        "CONSENT_RENDER_CHECK = False\n",
        encoding="utf-8",
    )
    return conf


def _ensure_bucket(state: dict, bucket: str) -> None:
    from s3_publish.local_s3 import client_for

    client = client_for(
        state["endpoint_url"], state["AWS_ACCESS_KEY_ID"], state["AWS_SECRET_ACCESS_KEY"]
    )
    if bucket not in {b["Name"] for b in client.list_buckets().get("Buckets", [])}:
        client.create_bucket(Bucket=bucket)


if __name__ == "__main__":
    sys.exit(main())
