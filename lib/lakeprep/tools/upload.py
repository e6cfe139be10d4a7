"""Upload a local corpus to S3 so the pipeline can read it with ``--input s3a://bucket/prefix``.

    python -m lakeprep.tools.upload SRC_DIR s3://bucket/prefix [--create-bucket]
                                   [--endpoint-url URL] [--config conf/local.yaml] [--workers N]

Every file under SRC_DIR becomes the object ``prefix/<path relative to SRC_DIR>``. A file whose
object already exists with the same size and content hash (ETag) is skipped, so a rerun after an
interruption uploads only what is missing or changed, and a complete rerun uploads nothing.

Endpoint, region and path-style addressing come from the config's ``s3:`` section and the
standard AWS_* variables exactly as for Spark (lakeprep.s3); ``--endpoint-url`` overrides both.
Credentials come from boto3's own chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
AWS_SESSION_TOKEN, ~/.aws, instance profile) and are never printed.

Exit status: 0 done, 1 an S3 error (one line on stderr saying what and what to do), 2 usage.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

# Multipart settings used for uploads AND for predicting the ETag of a local file: S3's ETag of a
# multipart object is md5(md5(part1) + md5(part2) + ...)-N, so it can only be compared with a
# local file if the part size is known. 8 MiB is s3transfer's default.
PART_SIZE = 8 * 1024 * 1024
MULTIPART_THRESHOLD = PART_SIZE
_READ_BLOCK = 1024 * 1024

# Error codes S3 (and compatible servers) use when asking the client to slow down.
_THROTTLING_CODES = {"SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded",
                     "TooManyRequestsException", "RequestThrottled", "ServiceUnavailable", "503"}
_ACCESS_CODES = {"AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch",
                 "AllAccessDisabled", "AccountProblem", "ExpiredToken", "InvalidToken"}


class UploadError(Exception):
    """A failure explained in one line for the user (printed without a traceback)."""


@dataclass(frozen=True)
class LocalFile:
    path: Path
    key: str
    size: int


@dataclass
class Summary:
    files_total: int = 0
    bytes_total: int = 0
    uploaded: int = 0
    skipped: int = 0
    bytes_uploaded: int = 0
    seconds: float = 0.0


def expected_etag(path: Path, size: int) -> str:
    """The ETag S3 gives ``path`` when uploaded by this tool (single PUT or PART_SIZE parts)."""
    if size < MULTIPART_THRESHOLD:
        h = hashlib.md5(usedforsecurity=False)
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(_READ_BLOCK), b""):
                h.update(block)
        return h.hexdigest()
    digests = []
    with path.open("rb") as fh:
        for part in iter(lambda: fh.read(PART_SIZE), b""):
            digests.append(hashlib.md5(part, usedforsecurity=False).digest())
    return f"{hashlib.md5(b''.join(digests), usedforsecurity=False).hexdigest()}-{len(digests)}"


def list_local(src: Path, prefix: str) -> list[LocalFile]:
    files = []
    for path in sorted(p for p in src.rglob("*") if p.is_file()):
        rel = path.relative_to(src).as_posix()
        key = f"{prefix}/{rel}" if prefix else rel
        files.append(LocalFile(path=path, key=key, size=path.stat().st_size))
    return files


def explain(exc: BaseException, bucket: str, what: str) -> UploadError:
    """botocore exception -> one line naming the bucket and the likely fix."""
    from boto3.exceptions import S3UploadFailedError
    from botocore.exceptions import (
        ClientError,
        ConnectionClosedError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
        ReadTimeoutError,
    )

    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return UploadError("no usable AWS credentials: set AWS_ACCESS_KEY_ID and "
                           "AWS_SECRET_ACCESS_KEY (or a profile / instance role)")
    if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError,
                        ConnectionClosedError)):
        return UploadError(f"cannot reach S3 while {what} (bucket '{bucket}'): {exc}; check "
                           "the endpoint (--endpoint-url / AWS_ENDPOINT_URL) and the network")
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        message = exc.response.get("Error", {}).get("Message", "") or str(exc)
        if code in ("NoSuchBucket", "404") and what.startswith("checking"):
            return UploadError(f"bucket '{bucket}' does not exist; create it or pass "
                               "--create-bucket")
        if code == "NoSuchBucket":
            return UploadError(f"bucket '{bucket}' does not exist (while {what})")
        if code in _ACCESS_CODES or status == 403:
            return UploadError(f"access denied to bucket '{bucket}' while {what} ({code}): "
                               "check the credentials and the bucket policy")
        if code in _THROTTLING_CODES or status == 503:
            return UploadError(f"S3 is throttling requests to bucket '{bucket}' while {what} "
                               f"({code}) even after retries: rerun later (already uploaded "
                               "files are skipped) or lower --workers")
        return UploadError(f"S3 error while {what} (bucket '{bucket}'): {code or status}: "
                           f"{message}")
    if isinstance(exc, S3UploadFailedError):
        # s3transfer wraps the ClientError of a failed part in a message string.
        text = str(exc)
        for code in _THROTTLING_CODES:
            if code in text:
                return UploadError(f"S3 is throttling uploads to bucket '{bucket}' ({code}) "
                                   "even after retries: rerun later or lower --workers")
        if "AccessDenied" in text or "403" in text:
            return UploadError(f"access denied to bucket '{bucket}' while {what}: check the "
                               "credentials and the bucket policy")
        if "NoSuchBucket" in text:
            return UploadError(f"bucket '{bucket}' does not exist (while {what})")
        return UploadError(f"upload failed while {what}: {text}")
    return UploadError(f"{type(exc).__name__} while {what} (bucket '{bucket}'): {exc}")


def ensure_bucket(client, bucket: str, create: bool, region: str | None) -> bool:
    """True if the bucket was created. A missing bucket is an error unless ``create``."""
    from botocore.exceptions import ClientError

    try:
        client.head_bucket(Bucket=bucket)
        return False
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code not in ("404", "NoSuchBucket") or not create:
            raise explain(exc, bucket, "checking the bucket") from None
    except Exception as exc:  # noqa: BLE001 - connection and credential errors, one line
        raise explain(exc, bucket, "checking the bucket") from None
    try:
        if region and region != "us-east-1":
            # Outside us-east-1 S3 requires the region as a location constraint.
            client.create_bucket(Bucket=bucket,
                                 CreateBucketConfiguration={"LocationConstraint": region})
        else:
            client.create_bucket(Bucket=bucket)
    except Exception as exc:  # noqa: BLE001 - translated into one line
        raise explain(exc, bucket, "creating the bucket") from None
    return True


def list_remote(client, bucket: str, prefix: str) -> dict[str, tuple[int, str]]:
    """key -> (size, ETag without quotes) of every object under ``prefix``."""
    found = {}
    paginator = client.get_paginator("list_objects_v2")
    try:
        for page in paginator.paginate(Bucket=bucket, Prefix=f"{prefix}/" if prefix else ""):
            for obj in page.get("Contents", []):
                found[obj["Key"]] = (obj["Size"], obj.get("ETag", "").strip('"'))
    except Exception as exc:  # noqa: BLE001
        raise explain(exc, bucket, "listing existing objects") from None
    return found


class Progress:
    """Files and bytes done / total and the rate, on stderr; redrawn in place on a terminal,
    one line every few seconds otherwise (CI logs)."""

    def __init__(self, files_total: int, bytes_total: int, stream=sys.stderr):
        self.files_total, self.bytes_total = files_total, bytes_total
        self.files = self.bytes = 0
        self.stream = stream
        self.tty = hasattr(stream, "isatty") and stream.isatty()
        self.interval = 0.5 if self.tty else 5.0
        self.start = self.last = time.monotonic()
        self.lock = threading.Lock()

    def add(self, nbytes: int, file_done: bool) -> None:
        with self.lock:
            self.bytes += nbytes
            self.files += int(file_done)
            now = time.monotonic()
            if now - self.last >= self.interval:
                self.last = now
                self._print(final=False)

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.start, 1e-6)
        return (f"upload: {self.files}/{self.files_total} files, "
                f"{_mb(self.bytes)}/{_mb(self.bytes_total)} MB, {_mb(self.bytes / elapsed)} MB/s")

    def _print(self, final: bool) -> None:
        if self.tty:
            self.stream.write("\r" + self.line() + ("\n" if final else ""))
        else:
            self.stream.write(self.line() + "\n")
        self.stream.flush()

    def finish(self) -> None:
        with self.lock:
            self._print(final=True)


def _mb(n: float) -> str:
    return f"{n / 1e6:.1f}"


def upload(src: Path, bucket: str, prefix: str, client, *, create_bucket: bool = False,
           region: str | None = None, workers: int = 4, stream=sys.stderr) -> Summary:
    from boto3.s3.transfer import TransferConfig

    if not src.is_dir():
        raise UploadError(f"source directory does not exist: {src}")
    files = list_local(src, prefix)
    summary = Summary(files_total=len(files), bytes_total=sum(f.size for f in files))
    started = time.monotonic()
    if ensure_bucket(client, bucket, create_bucket, region):
        print(f"upload: created bucket '{bucket}'", file=stream)
    remote = list_remote(client, bucket, prefix)

    todo = []
    for f in files:
        have = remote.get(f.key)
        # Same size first (free), then the content hash: a same-size edit is still uploaded.
        if have and have[0] == f.size and have[1] == expected_etag(f.path, f.size):
            summary.skipped += 1
        else:
            todo.append(f)
    print(f"upload: {len(files)} files ({_mb(summary.bytes_total)} MB) under {src}; "
          f"{summary.skipped} already in s3://{bucket}/{prefix} with the same content, "
          f"{len(todo)} to upload", file=stream)

    progress = Progress(len(todo), sum(f.size for f in todo), stream)
    config = TransferConfig(multipart_threshold=MULTIPART_THRESHOLD,
                            multipart_chunksize=PART_SIZE, max_concurrency=2)

    def put(f: LocalFile) -> int:
        try:
            client.upload_file(str(f.path), bucket, f.key, Config=config,
                               Callback=lambda n: progress.add(n, False))
        except Exception as exc:  # noqa: BLE001
            raise explain(exc, bucket, f"uploading {f.path}") from None
        progress.add(0, True)
        return f.size

    if todo:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            futures = [pool.submit(put, f) for f in todo]
            try:
                for fut in as_completed(futures):
                    summary.bytes_uploaded += fut.result()
                    summary.uploaded += 1
            except BaseException:
                for fut in futures:
                    fut.cancel()
                raise
        progress.finish()
    summary.seconds = time.monotonic() - started
    print(f"upload: done in {summary.seconds:.1f}s: {summary.uploaded} uploaded "
          f"({_mb(summary.bytes_uploaded)} MB), {summary.skipped} skipped (unchanged)",
          file=stream)
    return summary


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m lakeprep.tools.upload",
        description="Upload a local directory tree to s3://bucket/prefix (keys = relative "
                    "paths). Files already there with the same size and ETag are skipped.",
        epilog="Endpoint and region: --endpoint-url, else AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL "
               "and AWS_REGION / AWS_DEFAULT_REGION, else the config's s3 section. Credentials: "
               "the standard AWS chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, profile, role).",
    )
    parser.add_argument("src", metavar="SRC_DIR", help="local directory to upload (recursively)")
    parser.add_argument("dest", metavar="S3_URI", help="destination, s3://bucket[/prefix]")
    parser.add_argument("--create-bucket", action="store_true",
                        help="create the bucket if it does not exist (default: fail)")
    parser.add_argument("--endpoint-url", metavar="URL",
                        help="S3 endpoint, e.g. http://127.0.0.1:8333 for a local server")
    parser.add_argument("--config", metavar="PATH",
                        help="YAML configuration for the s3 section (default: conf/local.yaml)")
    parser.add_argument("--workers", type=int, default=4, metavar="N",
                        help="files uploaded in parallel (default: 4)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from lakeprep.config import ConfigError, load_settings
    from lakeprep.s3 import boto3_client_kwargs, split_s3_uri

    try:
        bucket, prefix = split_s3_uri(args.dest)
        settings = load_settings(args.config)
    except (ValueError, ConfigError) as exc:
        print(f"upload: error: {exc}", file=sys.stderr)
        return 2
    src = Path(args.src)
    if not src.is_dir():
        print(f"upload: error: source directory does not exist: {src}", file=sys.stderr)
        return 2

    import boto3

    kwargs = boto3_client_kwargs(settings.s3, os.environ, args.endpoint_url)
    client = boto3.client("s3", **kwargs)
    try:
        upload(src, bucket, prefix, client, create_bucket=args.create_bucket,
               region=kwargs.get("region_name") or client.meta.region_name,
               workers=args.workers)
    except UploadError as exc:
        print(f"upload: error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - any other botocore error: still one line
        from botocore.exceptions import BotoCoreError, ClientError

        if not isinstance(exc, (BotoCoreError, ClientError)):
            raise
        print(f"upload: error: {explain(exc, bucket, 'talking to S3')}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("upload: interrupted; rerun to upload the rest (finished files are skipped)",
              file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
