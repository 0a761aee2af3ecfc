"""The chat function's AWS Lambda Web Adapter: a released 1.x layer (v1.1.0, layer 30, by
default), the public layer's ARN for the function's architecture, and only settings the adapter
1.x reads, with values it understands (docs/serverless.md §1.1).

The adapter's settings are recorded here from its source at tag v1.0.0 (``src/lib.rs``, the
``ENV_*`` constants); ``GROKGATE_LWA_SOURCE`` naming a git directory of
aws/aws-lambda-web-adapter checks the record against that source.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from grokgate.manifest import ADAPTER_SETTINGS, BY_SURFACE
from tests.deploy.sam import REGION, function_env, resolve, template

# AWS_LWA_* names the adapter reads in 1.0.0 (src/lib.rs), and how it parses each value
ADAPTER_1_0 = {
    "AWS_LWA_PORT": r"\d{1,5}",
    "AWS_LWA_HOST": r"\S+",
    "AWS_LWA_READINESS_CHECK_PORT": r"\d{1,5}",
    "AWS_LWA_READINESS_CHECK_PATH": r"/\S*",
    "AWS_LWA_READINESS_CHECK_PROTOCOL": r"(?i:http|tcp)",
    "AWS_LWA_READINESS_CHECK_HEALTHY_STATUS": r"\d{3}(-\d{3})?(,\d{3}(-\d{3})?)*",
    "AWS_LWA_REMOVE_BASE_PATH": r"/\S*",
    "AWS_LWA_PASS_THROUGH_PATH": r"/\S*",
    "AWS_LWA_ASYNC_INIT": r"true|false",  # Rust's bool parse: anything else is false
    "AWS_LWA_ENABLE_COMPRESSION": r"true|false",
    "AWS_LWA_INVOKE_MODE": r"(?i:buffered|response_stream)",  # anything else: buffered
    "AWS_LWA_AUTHORIZATION_SOURCE": r"\S+",
    "AWS_LWA_ERROR_STATUS_CODES": r"\d{3}(-\d{3})?(,\d{3}(-\d{3})?)*",
    "AWS_LWA_LAMBDA_RUNTIME_API_PROXY": r"\S+",
}
REMOVED_IN_1_0 = {"AWS_LWA_READINESS_CHECK_MIN_UNHEALTHY_STATUS"}
# the public layers (commercial regions): account 753240598075, one layer name per architecture
LAYER_ACCOUNT = "753240598075"
LAYER_NAMES = {"arm64": "LambdaAdapterLayerArm64", "x86_64": "LambdaAdapterLayerX86"}
FIRST_GA_LAYER, DEFAULT_LAYER = 27, 30  # v1.0.0, v1.1.0


def _chat() -> str:
    return BY_SURFACE["chat"].logical_id


def test_the_template_defaults_to_adapter_1_1_0_and_refuses_pre_releases() -> None:
    param = template()["Parameters"]["WebAdapterLayerVersion"]
    assert param["Default"] == DEFAULT_LAYER
    assert param["MinValue"] == FIRST_GA_LAYER  # 26 was v1.0.0-rc1, without these settings


def test_the_layer_is_the_public_one_for_the_function_s_architecture() -> None:
    props = template()["Resources"][_chat()]["Properties"]
    (arch,) = props.get("Architectures") or template()["Globals"]["Function"]["Architectures"]
    adapter = [layer for layer in props["Layers"] if "LambdaAdapterLayer" in str(layer)]
    (arn,) = [resolve(layer, {}) for layer in adapter]
    # aws partition only: China's layers are other accounts per region (docs/serverless.md §1.1)
    assert (
        arn == f"arn:aws:lambda:{REGION}:{LAYER_ACCOUNT}:layer:{LAYER_NAMES[arch]}:{DEFAULT_LAYER}"
    )


def test_every_adapter_setting_the_template_uses_exists_in_adapter_1x() -> None:
    env = function_env(_chat(), {})
    used = {k: v for k, v in env.items() if k.startswith("AWS_LWA_")}
    assert used, "the chat function configures the adapter"
    assert not used.keys() & REMOVED_IN_1_0
    for name, value in used.items():
        assert name in ADAPTER_1_0, f"the adapter 1.x does not read {name}"
        assert re.fullmatch(ADAPTER_1_0[name], value), f"{name}={value!r} is not understood"
    assert env["AWS_LWA_INVOKE_MODE"].lower() == "response_stream"  # else silently buffered
    assert {s.name for s in ADAPTER_SETTINGS if s.name.startswith("AWS_LWA_")} == used.keys()
    for function, fn in template()["Resources"].items():  # and no other function uses it
        if fn["Type"] == "AWS::Serverless::Function" and function != _chat():
            assert not [k for k in function_env(function, {}) if k.startswith("AWS_LWA_")]


@pytest.mark.skipif(
    not os.environ.get("GROKGATE_LWA_SOURCE"), reason="GROKGATE_LWA_SOURCE names no git directory"
)
def test_the_recorded_settings_are_the_adapter_s_own_at_v1_0_0() -> None:
    source = subprocess.run(
        [
            "git",
            "--git-dir",
            str(Path(os.environ["GROKGATE_LWA_SOURCE"])),
            "show",
            "v1.0.0:src/lib.rs",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    constants = set(re.findall(r'const ENV_\w+: &str = "(AWS_LWA_\w+)";', source))
    assert constants == set(ADAPTER_1_0)
