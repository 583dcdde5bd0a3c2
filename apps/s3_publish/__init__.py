"""Publish the built site to an S3 bucket: incremental (MD5 against ETag), every image
re-checked for consent first, takedowns before anything else. Entry point: `publish`."""
