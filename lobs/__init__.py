"""lobs: keep plain directories in sync with S3, rclone remotes or a folder."""

__version__ = "0.1.0"
