#!/bin/sh
# Lambda Web Adapter entry point: uvicorn on the adapter's port; readiness on /health.
cd "$(dirname "$0")" || exit 1
PATH="$PATH:/opt/python/bin"
export PYTHONPATH="/opt/python:${PYTHONPATH:-}"
exec python -m uvicorn --factory app:create --host 127.0.0.1 --port "${AWS_LWA_PORT:-${PORT:-8080}}" --no-access-log
