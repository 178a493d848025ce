"""``s3://bucket/prefix`` roots shared by the aws, s5cmd and rclone adapters."""

from __future__ import annotations

from dataclasses import dataclass

from lobs.errors import ConfigError


@dataclass(frozen=True)
class S3Root:
    bucket: str
    prefix: str  # no leading or trailing slash; "" for the bucket root

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    @property
    def key_prefix(self) -> str:
        """The prefix of every object key under this root, with its trailing slash."""
        return self.prefix + "/" if self.prefix else ""


def parse_s3_url(url: str) -> S3Root:
    """Split ``s3://bucket/prefix``. Raises ConfigError for a URL without a bucket."""
    if not url.startswith("s3://"):
        raise ConfigError(f"not an s3:// URL: {url}")
    bucket, _, prefix = url[5:].partition("/")
    if not bucket or len(bucket) < 3:
        raise ConfigError(f"no valid bucket name in {url}", "write s3://BUCKET/optional/prefix")
    prefix = prefix.strip("/")
    if "//" in prefix:
        raise ConfigError(f"empty folder name in {url}")
    return S3Root(bucket, prefix)
