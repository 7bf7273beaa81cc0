"""What operators see: structured logs with request ids, and Prometheus metrics."""
