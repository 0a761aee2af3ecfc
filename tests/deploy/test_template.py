"""``template.yaml``: lint-clean, routes exactly what the functions serve, streams chat, and gives
each function only what it needs."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from grokgate.api.app import SURFACES, route_table
from grokgate.config import Settings
from grokgate.stores.conversations_dynamodb import TTL_ATTRIBUTE as CONVERSATIONS_TTL_ATTRIBUTE
from grokgate.stores.jobs_dynamodb import TTL_ATTRIBUTE
from tests.deploy.sam import (
    CATCH_ALL,
    ENTRIES,
    ROOT,
    TEMPLATE,
    api_events,
    apigw_path,
    function_env,
    load_entry,
    requirement_names,
    resolve,
    resources,
    template,
    transformed,
)

CLOUD = Settings(_env_file=None, store="dynamodb", media="s3", media_bucket="b")  # type: ignore[call-arg]
HEALTH = "/health"
SECRET_SETTINGS = ("API_KEYS", "SSO_TOKENS", "XAI_API_KEYS", "CF_COOKIES", "MEDIA_SECRET")


def _cfn_lint(path: Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("cfn-lint", path=str(Path(sys.executable).parent))
    assert exe, "cfn-lint is part of the test extra"
    return subprocess.run([exe, str(path)], capture_output=True, text=True, timeout=300)


def test_cfn_lint_is_clean_on_the_template_and_on_what_sam_makes_of_it(tmp_path: Path) -> None:
    out = _cfn_lint(TEMPLATE)
    assert out.returncode == 0, out.stdout + out.stderr
    # cfn-lint checks SAM resources against SAM's schema; the generated CloudFormation (API
    # Gateway methods, roles, permissions) is checked against the CloudFormation schemas too
    generated = tmp_path / "generated.json"
    generated.write_text(json.dumps(transformed()))
    out = _cfn_lint(generated)
    assert out.returncode == 0, out.stdout + out.stderr


def test_template_routes_match_the_routes_each_function_serves() -> None:
    routed: dict[str, str] = {}
    for function in ENTRIES:
        surfaces = load_entry(function).SURFACES
        served = route_table(surfaces, CLOUD)
        served_paths = {apigw_path(path) for path, _ in served}
        events = api_events(function)
        assert all(e["Method"] == "ANY" for e in events), "the app answers 405s in its format"
        paths = [e["Path"] for e in events]
        assert len(paths) == len(set(paths)), f"{function} routes a path twice"
        for path in paths:
            assert path not in routed, f"{path} goes to {routed[path]} and {function}"
            routed[path] = function
        mine = set(paths) - {CATCH_ALL, HEALTH}  # every app has /health; one function gets it
        assert mine == served_paths - {HEALTH}, f"{function}: template {mine} != app {served_paths}"
    everything = {apigw_path(path) for path, _ in route_table(SURFACES, CLOUD)}
    assert set(routed) - {CATCH_ALL} == everything  # no public route is left out
    assert routed[CATCH_ALL] == routed[HEALTH] == "ModelsFunction"  # unknown paths: OpenAI 404


def test_chat_routes_stream_with_a_long_timeout_and_the_rest_are_buffered() -> None:
    out = transformed()
    (api,) = [r for r in out["Resources"].values() if r["Type"] == "AWS::ApiGateway::RestApi"]
    paths = api["Properties"]["Body"]["paths"]
    chat = {e["Path"] for e in api_events("ChatFunction")}
    assert chat
    for path, methods in paths.items():
        for method in methods.values():
            integration = method["x-amazon-apigateway-integration"]
            uri = integration["uri"]["Fn::Sub"]
            assert integration["type"] == "aws_proxy"
            if path in chat:
                assert integration["responseTransferMode"] == "STREAM", path
                assert integration["timeoutInMillis"] == 900000, path
                assert uri.endswith("/response-streaming-invocations"), uri
                assert "${ChatFunction.Arn}" in uri
            else:
                assert "responseTransferMode" not in integration, path
                assert uri.endswith("/invocations") and "ChatFunction" not in uri, uri
    api_props = template()["Resources"]["Api"]["Properties"]
    assert api_props["EndpointConfiguration"]["Type"] == "REGIONAL"  # 5 min idle, not 30 s


def test_every_function_is_arm64_python_312_or_newer_with_log_retention() -> None:
    out = transformed()
    functions = {k: v for k, v in out["Resources"].items() if v["Type"] == "AWS::Lambda::Function"}
    assert set(functions) == set(ENTRIES)
    groups = {
        r["Properties"]["LogGroupName"]["Fn::Sub"]: r["Properties"]
        for r in out["Resources"].values()
        if r["Type"] == "AWS::Logs::LogGroup"
    }
    for name, fn in functions.items():
        props = fn["Properties"]
        assert props["Architectures"] == ["arm64"]
        runtime = resolve(props["Runtime"], {})  # the PythonRuntime parameter
        major, minor = map(int, re.fullmatch(r"python(\d+)\.(\d+)", runtime).groups())  # type: ignore[union-attr]
        assert (major, minor) >= (3, 12)
        assert groups[f"/aws/lambda/${{{name}}}"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_the_chat_function_runs_behind_the_web_adapter_with_a_narrow_health_check() -> None:
    props = template()["Resources"]["ChatFunction"]["Properties"]
    assert props["Handler"] == "run.sh"
    assert (ROOT / "functions/chat/run.sh").stat().st_mode & 0o111  # executable, as zipped
    assert any("LambdaAdapterLayerArm64" in str(layer) for layer in props["Layers"])
    env = function_env("ChatFunction", {})
    assert env["AWS_LAMBDA_EXEC_WRAPPER"] == "/opt/bootstrap"
    assert env["AWS_LWA_INVOKE_MODE"] == "response_stream"
    assert env["AWS_LWA_ASYNC_INIT"] == "true"
    assert env["AWS_LWA_READINESS_CHECK_HEALTHY_STATUS"] == "200"  # not 100-499: 404 isn't ready
    assert (env["AWS_LWA_READINESS_CHECK_PATH"], "GET") in route_table(("chat",), CLOUD)
    params = template()["Parameters"]
    assert props["Timeout"] == {"Ref": "ChatTimeout"} and params["ChatTimeout"]["MaxValue"] <= 900
    # the answer's deadline comes first, so a slow answer ends in an error event, not a kill
    assert env["GROKGATE_REQUEST_DEADLINE"] == str(params["ChatDeadline"]["Default"])
    assert params["ChatDeadline"]["Default"] < params["ChatTimeout"]["Default"]


def test_secrets_never_travel_in_plain_environment_variables_or_parameters() -> None:
    tpl = template()
    assert not [p for p in tpl["Parameters"].values() if p.get("NoEcho")]
    for function in ENTRIES:
        env = function_env(function, {"Secrets": "arn:secret"})
        assert env["GROKGATE_SECRETS"] == "arn:secret"
        assert not [k for k in env if k.removeprefix("GROKGATE_") in SECRET_SETTINGS]
    (secret,) = resources("AWS::SecretsManager::Secret").values()
    generated = secret["Properties"]["GenerateSecretString"]
    assert generated["GenerateStringKey"] == "api_keys"  # a client key exists from the start


def test_the_videos_function_invokes_itself_for_its_jobs_once_each() -> None:
    """Each role's statements are checked against grokgate.manifest in test_manifest.py; here,
    what the video jobs rely on besides them: a fixed name to invoke, and no retries."""
    assert function_env("VideosFunction", {})["GROKGATE_VIDEO_WORKER_FUNCTION"] == (
        "grokgate-videos"
    )
    props = template()["Resources"]["VideosFunction"]["Properties"]
    assert props["FunctionName"] == {"Fn::Sub": "${AWS::StackName}-videos"}
    assert props["EventInvokeConfig"]["MaximumRetryAttempts"] == 0


def test_tables_are_on_demand_recoverable_and_jobs_expire() -> None:
    tables = resources("AWS::DynamoDB::Table")
    assert set(tables) == {"AccountsTable", "JobsTable", "ConversationsTable"}
    for name, table in tables.items():
        props = table["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        if name != "ConversationsTable":
            assert props["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    convs = tables["ConversationsTable"]["Properties"]
    assert convs["KeySchema"] == [
        {"AttributeName": "id", "KeyType": "HASH"},
        {"AttributeName": "part", "KeyType": "RANGE"},
    ]
    for name in ("JobsTable", "ConversationsTable"):
        ttl = tables[name]["Properties"]["TimeToLiveSpecification"]
        assert ttl == {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}
    assert CONVERSATIONS_TTL_ATTRIBUTE == TTL_ATTRIBUTE
    env = function_env("ChatFunction", {"ConversationsTable": "convs"})
    assert env["GROKGATE_DYNAMODB_CONVERSATIONS_TABLE"] == "convs"
    responses = template()["Parameters"]["ResponsesRetentionDays"]
    responses_default = Settings(_env_file=None).responses_ttl_seconds  # type: ignore[call-arg]
    assert responses["Default"] * 86400 == responses_default
    assert tables["AccountsTable"]["DeletionPolicy"] == "Retain"
    days = template()["Parameters"]["MediaRetentionDays"]
    seconds = template()["Mappings"]["Retention"]
    assert {int(k): int(v["Seconds"]) for k, v in seconds.items()} == {
        d: d * 86400 for d in days["AllowedValues"]
    }
    default = Settings(_env_file=None).video_retention_seconds  # type: ignore[call-arg]
    assert int(seconds[str(days["Default"])]["Seconds"]) == default


def test_the_media_bucket_is_private_expires_files_and_allows_browser_gets() -> None:
    (bucket,) = resources("AWS::S3::Bucket").values()
    props = bucket["Properties"]
    assert all(props["PublicAccessBlockConfiguration"].values())
    rules = {r.get("Prefix"): r for r in props["LifecycleConfiguration"]["Rules"]}
    assert all(r["Status"] == "Enabled" for r in rules.values())
    assert set(rules) == {"images/", "videos/", "stored/", None}
    for prefix in ("images/", "videos/"):
        assert rules[prefix]["ExpirationInDays"] == {"Ref": "MediaRetentionDays"}
    assert rules["stored/"]["ExpirationInDays"] == {"Ref": "ResponsesRetentionDays"}
    assert "ExpirationInDays" not in rules[None]  # it only aborts stale uploads
    (cors,) = props["CorsConfiguration"]["CorsRules"]
    assert set(cors["AllowedMethods"]) == {"GET", "HEAD"}


def test_outputs_give_the_sdk_base_urls() -> None:
    outputs = template()["Outputs"]
    assert outputs["BaseUrl"]["Value"]["Fn::Sub"].endswith("/${Stage}/v1")
    assert outputs["AnthropicBaseUrl"]["Value"]["Fn::Sub"].endswith("/${Stage}")


def test_the_layer_installs_what_the_package_needs() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    needed = requirement_names(project["dependencies"]) | requirement_names(
        project["optional-dependencies"]["aws"]
    )
    layer = requirement_names((ROOT / "shared/requirements.txt").read_text().splitlines())
    assert needed - {"boto3"} <= layer  # boto3 comes with Lambda's Python runtime
    props = template()["Resources"]["SharedLayer"]
    assert props["Properties"]["ContentUri"] == "shared/"
    assert props["Metadata"]["BuildArchitecture"] == "arm64"


@pytest.mark.parametrize("function", sorted(ENTRIES))
def test_each_entry_module_imports_without_building_anything(function: str) -> None:
    entry = str(ROOT / ENTRIES[function])
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('entry', {entry!r})\n"
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
        "assert getattr(module, '_adapter', None) is None\n"
        "assert 'grokgate.runtime' not in sys.modules, 'the runtime is built lazily'\n"
        "print(module.SURFACES)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(ROOT / "shared"), "PATH": "/usr/bin:/bin"},
    )
    assert out.returncode == 0, out.stderr
