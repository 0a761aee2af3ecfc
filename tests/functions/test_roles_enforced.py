"""The functions as deployed with AWS credentials that may do only what the template's role of
each allows: moto enforces IAM (its own server, authentication switched on once the deployment is
set up). It checks S3 calls against the object's ARN, and DynamoDB and Secrets Manager calls by
action only (it authorizes them on ``*``), so each role's S3 statements are used as they are and
the others with ``*`` for their resource (docs/serverless.md §7).

The chat function answers an image model (/v1/chat/completions) with picture URLs anyone can
open; the images function makes pictures and the videos function (and its asynchronous job)
a video, each under its own prefix. A presigned URL acts with its signer's permissions, so each
role must also be allowed to get what it put: checked with the role's own reads while IAM is
enforced (moto cannot check a presigned URL's signer then), then the URLs are opened anonymously.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
import pytest
from botocore.exceptions import ClientError

from grokgate.manifest import MEDIA_PREFIXES
from tests.deploy.sam import ENTRIES, transformed
from tests.functions.apigw import response as read
from tests.functions.apigw import rest_event
from tests.functions.conftest import Deployment, routes_of
from tests.functions.lambda_fakes import FunctionHost
from tests.functions.web_adapter import run_chat_function
from tests.sdk import openai_client
from tests.support import API_KEY, Sim, aws_client, free_port

AUTH = {"Authorization": f"Bearer {API_KEY}"}
IMAGE_MODEL = "grok-imagine-image"  # core/registry.py: Kind.IMAGE, answered in chat too
MARKDOWN_IMAGE = re.compile(r"!\[[^\]]*\]\((\S+)\)")


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """A moto server of this module's own (IAM enforcement is global to a moto process)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None and time.monotonic() < deadline, "moto did not start"
            try:
                httpx.get(f"{url}/moto-api/", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _resource(value: Any, bucket: str) -> str:
    """A role statement's resource for moto: the bucket's ARN (and key pattern) for S3,
    ``*`` for the rest (moto authorizes DynamoDB and Secrets Manager calls on ``*``)."""
    text = json.dumps(value)
    if "MediaBucket" not in text:
        return "*"
    if "Fn::GetAtt" in value:
        return f"arn:aws:s3:::{bucket}"
    sub = value["Fn::Sub"]
    return str(sub).replace("${MediaBucket.Arn}", f"arn:aws:s3:::{bucket}")


def _role_credentials(function: str, endpoint: str, bucket: str) -> dict[str, str]:
    """An IAM user with the statements of ``function``'s role in the template, and its key."""
    role = transformed()["Resources"][f"{function}Role"]["Properties"]
    statements = [
        {**s, "Resource": _resource(s["Resource"], bucket)}
        for policy in role["Policies"]
        for s in policy["PolicyDocument"]["Statement"]
    ]
    iam = aws_client("iam", endpoint)
    user = f"{function}-{bucket}"
    iam.create_user(UserName=user)
    iam.put_user_policy(
        UserName=user,
        PolicyName=f"{function}Role",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
    )
    key = iam.create_access_key(UserName=user)["AccessKey"]
    return {
        "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
    }


@contextmanager
def _iam_enforced(endpoint: str) -> Iterator[None]:
    """moto checks every AWS call against the caller's IAM policies inside the block."""
    httpx.post(f"{endpoint}/moto-api/reset-auth", content=b"0").raise_for_status()
    try:
        yield
    finally:
        httpx.post(f"{endpoint}/moto-api/reset-auth", content=b"inf").raise_for_status()


def test_an_image_model_in_chat_answers_with_pictures_anyone_can_open(
    deployment: Deployment, sim: Sim, moto_endpoint: str
) -> None:
    bucket = deployment.names["MediaBucket"]
    role = _role_credentials("ChatFunction", moto_endpoint, bucket)
    role_s3 = _client_with("s3", moto_endpoint, role)
    env = {**deployment.env("ChatFunction"), **role}
    with _iam_enforced(moto_endpoint):
        # enforcement is real: the role's key may not write where the role names nothing
        with pytest.raises(ClientError) as denied:
            role_s3.put_object(Bucket=bucket, Key="elsewhere/x.txt", Body=b"x")
        assert denied.value.response["Error"]["Code"] == "AccessDenied"
        with run_chat_function(env) as base:
            client = openai_client(base)
            answer = client.chat.completions.create(
                model=IMAGE_MODEL, messages=[{"role": "user", "content": "a red fox"}], n=2
            )
            text = answer.choices[0].message.content or ""
            streamed = "".join(
                chunk.choices[0].delta.content or ""
                for chunk in client.chat.completions.create(
                    model=IMAGE_MODEL, messages=[{"role": "user", "content": "a cat"}], stream=True
                )
                if chunk.choices
            )
        urls = MARKDOWN_IMAGE.findall(text) + MARKDOWN_IMAGE.findall(streamed)
        assert len(urls) == 3, (text, streamed)
        _readable_by_the_role(role_s3, bucket, urls, MEDIA_PREFIXES["images"])
    _open_anonymously(urls, moto_endpoint, sim, "image/")


def _readable_by_the_role(role_s3: Any, bucket: str, urls: list[str], prefix: str) -> None:
    """A presigned GET acts as its signer: the role may read what it wrote (under ``prefix``)."""
    for url in urls:
        key = unquote(urlsplit(url).path).removeprefix(f"/{bucket}/")
        assert key.startswith(prefix), key
        role_s3.get_object(Bucket=bucket, Key=key)


def _open_anonymously(urls: list[str], moto_endpoint: str, sim: Sim, kind: str) -> None:
    """Each URL opens for anyone (no credentials, no cookies) and gives the upstream's bytes.
    Outside enforcement: moto wants an Authorization header on every call while enforcing."""
    made = {asset.data for asset in sim.state.media.assets.values()}
    for url in urls:
        parts = urlsplit(url)
        assert f"{parts.scheme}://{parts.netloc}" == moto_endpoint, url  # S3, not the function
        got = httpx.get(url, timeout=10)
        assert got.status_code == 200, got.text
        assert got.content in made
        assert got.headers["content-type"].startswith(kind)


def test_the_images_and_videos_functions_work_within_their_roles(
    deployment: Deployment, sim: Sim, moto_endpoint: str
) -> None:
    bucket = deployment.names["MediaBucket"]
    images_role = _role_credentials("ImagesFunction", moto_endpoint, bucket)
    videos_role = _role_credentials("VideosFunction", moto_endpoint, bucket)
    fake = deployment.fake_lambda
    assert fake is not None
    fake.env.update(videos_role)  # the video job's invocation runs as the videos role too
    images = FunctionHost(
        ENTRIES["ImagesFunction"], {**deployment.env("ImagesFunction"), **images_role}
    )
    videos = FunctionHost(
        ENTRIES["VideosFunction"], {**deployment.env("VideosFunction"), **videos_role}
    )
    deployment.hosts += [images, videos]

    def call(host: FunctionHost, function: str, method: str, path: str, **kw: Any) -> Any:
        return read(host.invoke(rest_event(method, path, routes_of(function), **kw)))

    with _iam_enforced(moto_endpoint):
        request = {"prompt": "a fox", "n": 1, "model": "grok-imagine-image"}
        status, _, raw = call(
            images, "ImagesFunction", "POST", "/v1/images/generations", headers=AUTH, body=request
        )
        assert status == 200, raw
        image_urls = [d["url"] for d in json.loads(raw)["data"]]
        _readable_by_the_role(
            _client_with("s3", moto_endpoint, images_role),
            bucket,
            image_urls,
            MEDIA_PREFIXES["images"],
        )

        status, _, raw = call(
            videos, "VideosFunction", "POST", "/v1/videos", headers=AUTH, body={"prompt": "the sea"}
        )
        assert status == 200, raw
        job = json.loads(raw)["id"]
        deadline = time.monotonic() + 60
        while True:
            status, _, raw = call(
                videos, "VideosFunction", "GET", f"/v1/videos/{job}", headers=AUTH
            )
            done = json.loads(raw)
            if done["status"] in ("completed", "failed") or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert done["status"] == "completed", (done, [r.stderr for r in fake.runs])
        status, headers, _ = call(
            videos, "VideosFunction", "GET", f"/v1/videos/{job}/content", headers=AUTH
        )
        assert status == 302
        video_urls = [headers["location"]]
        _readable_by_the_role(
            _client_with("s3", moto_endpoint, videos_role),
            bucket,
            video_urls,
            MEDIA_PREFIXES["videos"],
        )
    _open_anonymously(image_urls, moto_endpoint, sim, "image/")
    _open_anonymously(video_urls, moto_endpoint, sim, "video/")


def _client_with(service: str, endpoint: str, creds: dict[str, str]) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=creds["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=creds["AWS_SECRET_ACCESS_KEY"],
        config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}),
    )
