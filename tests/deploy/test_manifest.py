"""``grokgate.manifest`` is what each function is; ``template.yaml`` and ``vercel.json`` must say
the same: the same functions and entries, each function's environment (names, and which table,
bucket or secret each value names), each role's IAM statements action by action and resource by
resource, and Vercel's limits. Run against an older template with ``GROKGATE_TEST_TEMPLATE``."""

from __future__ import annotations

import inspect
import json
import re
from typing import Any

import pytest

from grokgate.api.app import SURFACES, route_table
from grokgate.config import Settings
from grokgate.core.stored_media import SHELF_PREFIX
from grokgate.manifest import (
    BY_SURFACE,
    COMMON_SETTINGS,
    FUNCTIONS,
    MEDIA_PREFIXES,
    STORE_SETTINGS,
    FunctionSpec,
    Store,
)
from tests.deploy.sam import (
    CATCH_ALL,
    REGION,
    ROOT,
    STACK,
    api_events,
    function_env,
    resolve,
    resources,
    template,
    transformed,
)

ACCOUNT = "123456789012"  # the account tests/deploy/sam.py transforms for
BASIC_EXECUTION = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
STORE_RESOURCE = {
    Store.POOL: "AccountsTable",
    Store.MEDIA: "MediaBucket",
    Store.JOBS: "JobsTable",
    Store.CONVERSATIONS: "ConversationsTable",
}
VERCEL = json.loads((ROOT / "vercel.json").read_text())
FUNCTION_IDS = [spec.logical_id for spec in FUNCTIONS]


def _spec(logical_id: str) -> FunctionSpec:
    return next(spec for spec in FUNCTIONS if spec.logical_id == logical_id)


def _function_arns() -> dict[str, str]:
    """A named function's ARN (as the test stack would have it) -> its logical id."""
    arns = {}
    for logical, fn in resources("AWS::Serverless::Function").items():
        if "FunctionName" in fn["Properties"]:
            name = resolve(fn["Properties"]["FunctionName"], {})
            arns[f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"] = logical
    return arns


def _resource(value: Any, variables: dict[str, Any] | None = None) -> str:
    """A statement's Resource as the manifest names it: ``AccountsTable`` for its ARN,
    ``MediaBucket/images/*`` for objects, ``VideosFunction`` for a function's ARN."""
    if isinstance(value, list):
        raise AssertionError(f"one resource per statement, not {value}")
    if isinstance(value, str):
        return _function_arns().get(value, value)
    ((fn, arg),) = value.items()
    if fn == "Ref":
        return str(arg)
    if fn == "Fn::GetAtt":
        assert arg[1] == "Arn", arg
        return str(arg[0])
    assert fn == "Fn::Sub", value
    text, local = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
    pseudo = {
        "AWS::Partition": "aws",
        "AWS::Region": REGION,
        "AWS::AccountId": ACCOUNT,
        "AWS::StackName": STACK,
    }

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in local:
            inner = local[name]
            return resolve(inner, {}) if "Fn::Sub" in inner else _resource(inner)
        if name.endswith(".Arn"):
            return name.removesuffix(".Arn")
        return pseudo.get(name, name)

    return _resource(re.sub(r"\$\{([\w:.]+)\}", one, text))


def _allowed(logical_id: str) -> set[tuple[str, str]]:
    role = transformed()["Resources"][f"{logical_id}Role"]["Properties"]
    assert role["ManagedPolicyArns"] == [BASIC_EXECUTION]  # logs only
    pairs = set()
    for policy in role["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow" and "Condition" not in statement
            actions = statement["Action"]
            for action in [actions] if isinstance(actions, str) else actions:
                pairs.add((action, _resource(statement["Resource"])))
    return pairs


# the manifest on its own


def test_every_surface_belongs_to_exactly_one_function() -> None:
    surfaces = [s for spec in FUNCTIONS for s in spec.surfaces]
    assert sorted(surfaces) == sorted(SURFACES)
    assert set(BY_SURFACE) == set(SURFACES)
    assert [spec.name for spec in FUNCTIONS if spec.catch_all] == ["models"]


@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda s: s.name)
def test_stores_settings_and_grants_agree(spec: FunctionSpec) -> None:
    names = spec.env_names()
    for store in Store:
        wanted = {s.name for s in STORE_SETTINGS[store]}
        if store in spec.stores:
            assert wanted <= names, f"{spec.name} uses {store} without {wanted - names}"
        elif store is not Store.POOL:  # the pool's settings are everyone's (Globals)
            assert not wanted & names, f"{spec.name} is configured for {store}, unused"
    granted = {grant.resource for grant in spec.grants}
    stores = {STORE_RESOURCE[store] for store in spec.stores}
    assert granted - {"Secrets", spec.logical_id} == stores
    assert Store.POOL in spec.stores  # every function leases accounts (or manages them)
    assert len({s.name for s in spec.settings}) == len(spec.settings)  # no name twice


def test_media_prefixes_are_the_ones_the_code_writes() -> None:
    from grokgate.core.media.images import ImageService
    from grokgate.core.media.video_worker import VideoWorker

    assert MEDIA_PREFIXES["stored"] == SHELF_PREFIX
    assert f'f"{MEDIA_PREFIXES["images"]}' in inspect.getsource(ImageService.keep)
    assert f'f"{MEDIA_PREFIXES["videos"]}' in inspect.getsource(VideoWorker)
    (bucket,) = resources("AWS::S3::Bucket").values()
    rules = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
    assert {r["Prefix"] for r in rules if "Prefix" in r} == set(MEDIA_PREFIXES.values())


def test_the_console_is_on_the_models_function_with_what_it_needs() -> None:
    """The console (/admin, issue 25) manages the pool, lists every key's jobs and sends the
    browser to a job's file: pool writes and deletes, jobs reads only, video files read only."""
    models = BY_SURFACE["models"]
    assert {Store.POOL, Store.JOBS, Store.MEDIA} <= models.stores
    actions = models.actions()
    assert ("dynamodb:DeleteItem", "AccountsTable") in actions
    assert {a for a, r in actions if r == "JobsTable"} == {"dynamodb:GetItem", "dynamodb:Scan"}
    assert {(a, r) for a, r in actions if r.startswith("MediaBucket")} == {
        ("s3:GetObject", f"MediaBucket/{MEDIA_PREFIXES['videos']}*")
    }


def test_image_models_in_chat_store_their_pictures_where_chat_may_write() -> None:
    """An image model through /v1/chat/completions keeps its pictures under images/, as the
    images function does (tests/functions/test_roles_enforced.py runs it)."""
    chat = BY_SURFACE["chat"]
    images = f"MediaBucket/{MEDIA_PREFIXES['images']}*"
    assert Store.MEDIA in chat.stores
    assert {("s3:PutObject", images), ("s3:GetObject", images)} <= chat.actions()


# template.yaml against the manifest


def test_the_template_has_exactly_the_manifest_s_functions() -> None:
    assert set(resources("AWS::Serverless::Function")) == set(FUNCTION_IDS)
    for spec in FUNCTIONS:
        props = template()["Resources"][spec.logical_id]["Properties"]
        assert props["CodeUri"] == spec.lambda_entry.rsplit("/", 1)[0] + "/"
        streamed = [e.get("ResponseTransferMode") for e in api_events(spec.logical_id)]
        if spec.streams:
            assert props["Handler"] == "run.sh" and set(streamed) == {"RESPONSE_STREAM"}
        else:
            entry = spec.lambda_entry.rsplit("/", 1)[1].removesuffix(".py")
            assert props["Handler"] == f"{entry}.handler" and set(streamed) == {None}


@pytest.mark.parametrize("logical_id", FUNCTION_IDS)
def test_each_function_gets_exactly_the_settings_the_manifest_names(logical_id: str) -> None:
    spec = _spec(logical_id)
    names = {r: f"<{r}>" for r in template()["Resources"]}
    env = function_env(logical_id, names)
    assert set(env) == spec.env_names(), f"{logical_id}: template != manifest"
    fn_names = {
        k: resolve(v["Properties"]["FunctionName"], {})
        for k, v in resources("AWS::Serverless::Function").items()
        if "FunctionName" in v["Properties"]
    }
    for setting in (*COMMON_SETTINGS, *spec.settings):
        if setting.resource in fn_names:
            assert env[setting.name] == fn_names[setting.resource], setting
        elif setting.resource is not None:
            assert env[setting.name] == f"<{setting.resource}>", setting
        if setting.value is not None:
            assert env[setting.name] == setting.value, setting


@pytest.mark.parametrize("logical_id", FUNCTION_IDS)
def test_each_role_allows_exactly_what_the_manifest_grants(logical_id: str) -> None:
    allowed, granted = _allowed(logical_id), _spec(logical_id).actions()
    assert allowed == granted, (
        f"{logical_id}: missing {sorted(granted - allowed)}, extra {sorted(allowed - granted)}"
    )


def test_the_catch_all_function_answers_unknown_paths_and_health() -> None:
    (spec,) = [s for s in FUNCTIONS if s.catch_all]
    paths = {e["Path"] for e in api_events(spec.logical_id)}
    assert {CATCH_ALL, "/health"} <= paths
    cloud = Settings(_env_file=None, store="dynamodb", media="s3", media_bucket="b")  # type: ignore[call-arg]
    assert not any(p.startswith("/media") for p, _ in route_table(SURFACES, cloud))


# vercel.json against the manifest


def _vercel_builds() -> dict[str, dict[str, Any]]:
    return {b["src"]: b for b in VERCEL["builds"]}


@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda s: s.name)
def test_vercel_builds_each_function_with_the_manifest_s_limits(spec: FunctionSpec) -> None:
    build = _vercel_builds()[spec.vercel_entry]
    assert build["use"] == "@vercel/python"
    # the Python builder reads config.functions keyed by the entry (docs/serverless.md §4.1)
    limits = build["config"]["functions"][spec.vercel_entry]
    assert limits == {"maxDuration": spec.vercel_max_duration, "memory": spec.vercel_memory}


def test_vercel_builds_and_routes_only_the_manifest_s_entries() -> None:
    entries = {spec.vercel_entry for spec in FUNCTIONS}
    assert set(_vercel_builds()) == entries
    dests = {str(r["dest"]).lstrip("/") for r in VERCEL["routes"]}
    assert dests == entries
    last = VERCEL["routes"][-1]
    (catch_all,) = [s for s in FUNCTIONS if s.catch_all]
    assert last["src"] == "/(.*)" and last["dest"] == f"/{catch_all.vercel_entry}"


def test_the_readme_tells_vercel_users_every_store_setting() -> None:
    """Vercel has no template: the project's environment variables are set by hand, from the
    README's table. Every store setting some function needs must be in it."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### Vercel (`vercel deploy`)") :]
    section = section[: section.index("\n## ")]
    needed = {
        s.name
        for spec in FUNCTIONS
        for store in spec.stores
        for s in STORE_SETTINGS[store]
        if s.name != "GROKGATE_RESPONSES_TTL"  # has a default
    }
    missing = {name for name in needed if f"`{name}`" not in section}
    assert not missing, f"the README's Vercel section does not name {missing}"


def test_sam_streams_only_for_response_stream_and_ignores_stream() -> None:
    """Why the template must say RESPONSE_STREAM (docs/serverless.md §2): SAM's translator
    turns it into the integration's STREAM, and turns STREAM itself into a buffered route."""
    from samtranslator.translator.transform import transform

    def integration(mode: str) -> dict[str, Any]:
        tpl = {
            "Transform": "AWS::Serverless-2016-10-31",
            "Resources": {
                "Api": {"Type": "AWS::Serverless::Api", "Properties": {"StageName": "p"}},
                "Fn": {
                    "Type": "AWS::Serverless::Function",
                    "Properties": {
                        "Runtime": "python3.12",
                        "Handler": "a.b",
                        "CodeUri": "s3://b/k.zip",
                        "Events": {
                            "E": {
                                "Type": "Api",
                                "Properties": {
                                    "RestApiId": {"Ref": "Api"},
                                    "Path": "/x",
                                    "Method": "ANY",
                                    "ResponseTransferMode": mode,
                                },
                            }
                        },
                    },
                },
            },
        }

        class NoManagedPolicies:
            def load(self) -> dict[str, str]:
                return {}

        context = {"AWS::Region": REGION, "AWS::AccountId": ACCOUNT}
        out = transform(tpl, context, NoManagedPolicies())
        (api,) = [r for r in out["Resources"].values() if r["Type"] == "AWS::ApiGateway::RestApi"]
        found: dict[str, Any] = api["Properties"]["Body"]["paths"]["/x"]
        return found["x-amazon-apigateway-any-method"]["x-amazon-apigateway-integration"]

    streamed, typo = integration("RESPONSE_STREAM"), integration("STREAM")
    assert streamed["responseTransferMode"] == "STREAM"
    assert streamed["uri"]["Fn::Sub"].endswith("/response-streaming-invocations")
    assert "responseTransferMode" not in typo
    assert typo["uri"]["Fn::Sub"].endswith("/invocations")
