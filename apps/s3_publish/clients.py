"""The S3 and CloudFront clients the publisher uses, and what their errors mean to
the person publishing.

Retries are botocore's standard retry mode, configured once here: throttling, 5xx answers
and network errors are retried with backoff up to ``S3_MAX_ATTEMPTS`` attempts per request
(the first one included). Nothing retries on top of it, so one PUT is tried at most that
many times.
"""

from __future__ import annotations

import logging

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, NoCredentialsError, PartialCredentialsError

from .errors import PublishError
from .settings import PublishSettings

log = logging.getLogger(__name__)


CREDENTIAL_ERRORS = {
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidToken",
    "ExpiredToken",
    "InvalidClientTokenId",
    "AuthorizationHeaderMalformed",
    "403",
}


def make_client(settings: PublishSettings, service: str = "s3", session=None):
    """A boto3 client using the standard credential chain (AWS_PROFILE, env, config files),
    retrying in botocore's standard mode: ``S3_MAX_ATTEMPTS`` attempts per request in all."""
    session = session or boto3.session.Session()
    config = Config(
        retries={"mode": "standard", "total_max_attempts": settings.max_attempts},
        max_pool_connections=max(10, settings.workers * 2),
        connect_timeout=10,
        read_timeout=60,
    )
    region = settings.region
    if service == "s3" and settings.endpoint_url:
        # S3-compatible servers: path-style URLs, and no newer checksum headers they may reject.
        config = config.merge(
            Config(
                s3={"addressing_style": "path"},
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            )
        )
        region = region or session.region_name or "us-east-1"
        return session.client(
            "s3", endpoint_url=settings.endpoint_url, region_name=region, config=config
        )
    return session.client(service, region_name=region, config=config)


def endpoint_of(client) -> str:
    return getattr(getattr(client, "meta", None), "endpoint_url", None) or "AWS S3"


def explain_client_error(
    exc: Exception, bucket: str, endpoint: str, doing: str, changed: str = "Nothing was changed."
) -> PublishError:
    """A PublishError saying what went wrong and what to do; `changed` says what the run
    had done by then (nothing, unless files were already uploaded)."""
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return PublishError(
            f"no S3 credentials found for bucket {bucket} at {endpoint}: set AWS_PROFILE, or "
            f"AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, in the environment. {changed}"
        )
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        message = error.get("Message", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in CREDENTIAL_ERRORS or status == 403:
            return PublishError(
                f"S3 refused the credentials for bucket {bucket} at {endpoint} while {doing} "
                f"({code}: {message}): check AWS_PROFILE / AWS_ACCESS_KEY_ID / "
                f"AWS_SECRET_ACCESS_KEY and that they may list and write the bucket. {changed}"
            )
        if code in ("NoSuchBucket", "404"):
            return PublishError(
                f"the bucket {bucket} does not exist at {endpoint}: create it (see README, "
                f"Deploying) or fix S3_BUCKET / --bucket. {changed}"
            )
        return PublishError(f"S3 error while {doing} ({bucket} at {endpoint}): {code}: {message}")
    return PublishError(f"cannot reach S3 at {endpoint} while {doing}: {exc}. {changed}".rstrip())


def is_missing(exc: ClientError) -> bool:
    error = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return str(error.get("Code", "")) in ("NoSuchKey", "404", "NotFound") or status == 404
