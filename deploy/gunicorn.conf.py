"""gunicorn for Headroom: threaded workers, one more process than cores; uploads stream, so
requests are long."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Cores + 1 processes of 4 threads each: a request spends some of its time waiting on
# PostgreSQL and Redis, when another thread of its process runs, and fewer processes keep fewer
# copies of the rendered fragments and prepared statements warm. Measured with bench/load.py
# (300 users on 2 cores, runs in turn on one machine): 3 x 4 took 7.0-7.9 ms of CPU a request
# (5 runs, mean 7.5) where the usual 2 x cores + 1 = 5 processes of 2 threads took 7.4-8.9
# (3 runs, mean 8.2); 2 x 6 and 4 x 3 fell in between.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() + 1))
threads = int(os.environ.get("GUNICORN_THREADS", 4))
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
# No access log of gunicorn's own by default: nginx in front (deploy/nginx.conf) logs every
# request already, with the client's address, and gunicorn's line cost each request some
# 0.25 ms of CPU (an eighth of a page that reads nothing, sampled with py-spy).
# GUNICORN_ACCESSLOG=- writes it to standard output (for a gunicorn with nothing in front).
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
forwarded_allow_ips = "127.0.0.1"
