"""Who runs a video job once it is stored: a background task here, or another Lambda.

Both take a job id; the work itself is always :meth:`VideoWorker.run`, so a local server and a
cloud deployment run the same code. In the cloud the create call hands the job to an
asynchronous invocation of the videos function (``InvocationType=Event``) and returns at once.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from grokgate.errors import GrokGateError
from grokgate.logs import get_logger

WORKER_EVENT_KEY = "grokgate_video_job"  # the async invocation's payload: {KEY: job id}
log = get_logger("runner")


class WorkerUnavailableError(GrokGateError):
    status = 503
    openai_type = "server_error"
    code = "worker_unavailable"


class JobRunner(Protocol):
    async def submit(self, job_id: str) -> None: ...

    async def aclose(self) -> None: ...


class LocalRunner:
    """Runs each job as a task of this process (local servers, tests)."""

    def __init__(self, work: Callable[[str], Awaitable[None]]) -> None:
        self.work = work
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, job_id: str) -> None:
        task = asyncio.get_running_loop().create_task(self._run(job_id), name=f"video {job_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, job_id: str) -> None:
        try:
            await self.work(job_id)
        except asyncio.CancelledError:
            raise
        except Exception:  # the worker records failures itself; this is a bug's last net
            log.exception("video job %s crashed", job_id)

    async def drain(self) -> None:
        """Wait for every job submitted so far (tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        """Cancel running jobs (each marks itself failed) and wait for them."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class LambdaRunner:
    """Invokes ``function`` asynchronously (``InvocationType=Event``) with the job id. The
    Lambda client is ``client``, else ``client_factory()``, else built here for ``region`` and
    ``endpoint_url`` (the SDK's defaults when None), on the first job."""

    def __init__(
        self,
        function: str,
        client: Any | None = None,
        *,
        client_factory: Callable[[], Any] | None = None,
        region: str | None = None,
        endpoint_url: str | None = None,
    ) -> None:
        self.function = function
        self._client = client
        self._client_factory = client_factory or (lambda: lambda_client(region, endpoint_url))

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self._client_factory()
        return self._client

    async def submit(self, job_id: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        payload = json.dumps({WORKER_EVENT_KEY: job_id}).encode()
        try:
            out = await asyncio.to_thread(
                self.client.invoke,
                FunctionName=self.function,
                InvocationType="Event",
                Payload=payload,
            )
        except (BotoCoreError, ClientError) as exc:
            raise WorkerUnavailableError(
                f"could not start the video worker ({type(exc).__name__})"
            ) from exc
        status = out.get("StatusCode")
        if status != 202:
            raise WorkerUnavailableError(f"the video worker refused the job (status {status})")

    async def aclose(self) -> None:
        """Nothing runs here: the jobs run in other invocations."""


def lambda_client(region: str | None, endpoint_url: str | None) -> Any:
    from grokgate.aws import boto3_client

    return boto3_client("lambda", region, endpoint_url)
