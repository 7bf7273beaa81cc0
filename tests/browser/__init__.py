"""Tests in a real headless Chromium against a real server."""
