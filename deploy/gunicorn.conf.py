"""gunicorn for Headroom: a few sync workers per core; uploads stream, so requests are long."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", 2))
timeout = 300  # a multi-gigabyte upload over a slow line
graceful_timeout = 30
# Keep-alive longer than any pause between clicks, for clients that come straight to gunicorn:
# a connection closed as the next request is sent costs a GET a retry and fails a POST (an
# htmx poll), and the load run's users pause 1-3 s between actions, often two or three in a
# row. 75 s is nginx's own keep-alive for its clients; an idle connection costs a gthread
# worker only a slot in its poller. nginx in front (deploy/nginx.conf) opens a connection per
# request and is not affected.
keepalive = 75
# A worker is replaced after this many requests, a guard against a slow leak. Replacing one
# costs a second or two of CPU to start Django again and its kept SQL, prepared statements and
# fragments are lost: at 2,000 a busy studio (30 requests a second a worker) replaced every
# worker each minute.
max_requests = 20000
max_requests_jitter = 2000
accesslog = "-"
forwarded_allow_ips = "127.0.0.1"
