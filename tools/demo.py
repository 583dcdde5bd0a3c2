"""`make demo`: build the sample school site through the consent gate, publish it to a local
S3 server (SeaweedFS on 127.0.0.1) and serve the published bucket like a web host.

The demo keeps its own consent registry and key (consent/demo-registry.sqlite3,
consent/demo.key, both git-ignored), so it never touches a school's real records.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUCKET = "site"


def step(message: str) -> None:
    print(f"\n==> {message}", flush=True)


def build(env: dict[str, str], output: Path) -> None:
    cmd = [sys.executable, "-m", "pelican", "content", "-o", str(output), "-s", "pelicanconf.py"]
    proc = subprocess.run(cmd, cwd=ROOT, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"demo: the site build failed (pelican exited with {proc.returncode})")


def publish(env: dict[str, str], output: Path) -> None:
    cmd = [
        sys.executable,
        "-m",
        "s3_publish",
        "--settings",
        "pelicanconf.py",
        "--output",
        str(output),
        "--bucket",
        BUCKET,
    ]
    proc = subprocess.run(cmd, cwd=ROOT, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"demo: publishing failed (publish exited with {proc.returncode})")


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
    parser.add_argument("--output", type=Path, default=ROOT / "output")
    parser.add_argument("--s3-data", type=Path, default=ROOT / ".s3data")
    args = parser.parse_args(argv)

    from consent_registry.demo import prepare_demo
    from s3_publish.local_s3 import LocalS3, SiteProxy

    registry = ROOT / "consent" / "demo-registry.sqlite3"
    key_file = ROOT / "consent" / "demo.key"
    env = {**os.environ, "CONSENT_REGISTRY": str(registry), "CONSENT_KEY_FILE": str(key_file)}

    step("Copying the demo photos and seeding the demo consent registry")
    copied = prepare_demo(ROOT / "content", registry, key_file)
    for path in copied:
        print(f"    {path.relative_to(ROOT)}")
    print(f"    registry: {registry.relative_to(ROOT)} (one person with consent, one without)")

    step("Building the site through the consent gate")
    build(env, args.output)

    step("Starting the local S3 server (SeaweedFS on 127.0.0.1)")
    with LocalS3(args.s3_data, public_buckets=[BUCKET]) as server:
        server.create_bucket(BUCKET)
        print(f"    endpoint: {server.endpoint_url}  (data in {args.s3_data})")
        step(f"Publishing output/ to s3://{BUCKET}")
        publish({**env, **server.env()}, args.output)
        print(f"\nThe published site, straight from the bucket: {server.site_url(BUCKET)}")
        print("The consent report (never published): reports/consent-report.json")
        print(
            "Try: uv run consent list --registry consent/demo-registry.sqlite3 "
            "--key-file consent/demo.key"
        )
        if args.no_serve:
            return 0
        host, _, port = args.serve.rpartition(":")
        proxy = SiteProxy((host or "127.0.0.1", int(port)), server.endpoint_url, BUCKET)
        proxy.serve_in_thread()
        print(f"\nServing the published site at {proxy.url}  (Ctrl-C stops the demo)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("\nStopping the demo.")
        finally:
            proxy.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
