"""lobs benchmarks: lobs side by side with aws, rclone, s5cmd, dvc, git and the hashers.

Run ``python -m bench --help``. Nothing here is imported by lobs or by the normal tests.
"""
