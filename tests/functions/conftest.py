"""A deployment of ``template.yaml`` on loopback: its tables, bucket and secret in moto's server
(real HTTP and boto3), accounts added with ``grokgate accounts import --store dynamodb``, and
each function's environment exactly as the template sets it, pointed at the simulator."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from grokgate.demo import DEMO_STATSIG_HEADER_HEX, DEMO_STATSIG_SUFFIX
from grokgate.simulator.server import ServerThread
from tests.deploy.sam import ENTRIES, REGION, api_events, base_env, function_env, resources
from tests.functions.lambda_fakes import FakeLambda, FunctionHost
from tests.support import ACCOUNTS, API_KEY, Sim, aws_client


@dataclass
class Deployment:
    names: dict[str, str]  # logical id -> what its Ref is in this deployment
    moto: str
    sim: Sim
    data_dir: Path
    lambda_url: str = ""
    fake_lambda: FakeLambda | None = None
    hosts: list[FunctionHost] = field(default_factory=list)

    def env(self, function: str) -> dict[str, str]:
        """The function's environment: the template's, plus where this test's AWS and grok.com
        are (the only differences from the cloud)."""
        env = base_env()
        env.update(function_env(function, self.names))
        env.update(
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION=REGION,
            GROKGATE_AWS_REGION=REGION,
            GROKGATE_AWS_ENDPOINT_URL=self.moto,
            GROKGATE_LAMBDA_ENDPOINT_URL=self.lambda_url,
            GROKGATE_GROK_BASE_URL=self.sim.url,
            GROKGATE_GROK_ASSETS_URL=f"{self.sim.url}/assets",
            GROKGATE_STATSIG_HEADER_HEX=DEMO_STATSIG_HEADER_HEX,
            GROKGATE_STATSIG_SUFFIX=DEMO_STATSIG_SUFFIX,
            GROKGATE_WEB_CHAT_TRANSPORT="rest",
            GROKGATE_DATA_DIR=str(self.data_dir / function),
            AWS_LAMBDA_FUNCTION_NAME=function,  # Lambda sets it in every function
        )
        return env

    def start(self, function: str) -> FunctionHost:
        host = FunctionHost(ENTRIES[function], self.env(function))
        self.hosts.append(host)
        return host


def _create_tables(endpoint: str, suffix: str) -> dict[str, str]:
    """The template's tables, created from its own definitions (key schema, billing, TTL)."""
    dynamodb = aws_client("dynamodb", endpoint)
    names = {}
    for logical, table in resources("AWS::DynamoDB::Table").items():
        props = table["Properties"]
        name = f"{logical.lower()}-{suffix}"
        dynamodb.create_table(
            TableName=name,
            KeySchema=props["KeySchema"],
            AttributeDefinitions=props["AttributeDefinitions"],
            BillingMode=props["BillingMode"],
        )
        dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1})
        if "TimeToLiveSpecification" in props:
            dynamodb.update_time_to_live(
                TableName=name, TimeToLiveSpecification=props["TimeToLiveSpecification"]
            )
        names[logical] = name
    return names


def import_accounts(endpoint: str, table: str) -> None:
    """What the README tells operators to run against the deployed pool."""
    tokens = "\n".join(f"{tier}:{token}" for tier, token in ACCOUNTS)
    out = subprocess.run(
        [
            *(sys.executable, "-m", "grokgate.cli", "accounts", "import", "-"),
            *("--store", "dynamodb", "--table", table, "--region", REGION),
            *("--endpoint-url", endpoint),
        ],
        input=tokens,
        capture_output=True,
        text=True,
        timeout=60,
        env={**base_env(), "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"},
    )
    assert out.returncode == 0, out.stderr
    for _, token in ACCOUNTS:
        assert token not in out.stdout + out.stderr


@pytest.fixture
def deployment(sim: Sim, moto_endpoint: str, tmp_path: Path) -> Iterator[Deployment]:
    suffix = uuid.uuid4().hex[:10]
    names = _create_tables(moto_endpoint, suffix)
    bucket = f"media-{suffix}"
    aws_client("s3", moto_endpoint).create_bucket(Bucket=bucket)
    names["MediaBucket"] = bucket
    secret = aws_client("secretsmanager", moto_endpoint).create_secret(
        Name=f"grokgate-{suffix}/settings", SecretString=json.dumps({"api_keys": API_KEY})
    )
    names["Secrets"] = secret["ARN"]
    import_accounts(moto_endpoint, names["AccountsTable"])
    deployed = Deployment(names, moto_endpoint, sim, tmp_path)
    deployed.fake_lambda = FakeLambda(deployed.env("VideosFunction"))
    with ServerThread(deployed.fake_lambda.app) as lam:
        deployed.lambda_url = lam.url
        deployed.fake_lambda.env["GROKGATE_LAMBDA_ENDPOINT_URL"] = lam.url
        yield deployed
        for host in deployed.hosts:
            logs = host.close()
            for _, token in ACCOUNTS:  # secrets never reach the logs
                assert token not in logs
            assert API_KEY not in logs


def routes_of(function: str) -> list[str]:
    return [e["Path"] for e in api_events(function)]
