"""The MediaStore contract, run against the local directory and S3 (moto's server over real HTTP),
plus what each backend's URLs promise: SigV4 presigned S3 URLs that open anonymously, and local
URLs whose HMAC signature rejects tampering and expiry."""

from __future__ import annotations

import asyncio
import re
import stat
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pydantic import SecretStr

from grokgate.config import Settings
from grokgate.errors import InvalidRequestError, StoreUnavailableError
from grokgate.stores.media import MediaStore, StoredMedia, content_disposition
from grokgate.stores.media_local import LocalMediaStore, local_secret
from grokgate.stores.media_s3 import S3MediaStore, s3_client
from grokgate.stores.open import StoreConfigError, open_media_store
from tests.support import FakeClock, aws_client

SECRET = b"s" * 32
BASE = "http://gateway.test/"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def new_bucket(endpoint: str) -> str:
    name = f"grokgate-media-{uuid.uuid4().hex[:12]}"
    aws_client("s3", endpoint).create_bucket(Bucket=name)
    return name


def moto_s3(endpoint: str) -> Any:
    return s3_client("us-east-1", endpoint, **CREDENTIALS)


@pytest.fixture(params=["local", "s3"])
async def media(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[MediaStore]:
    if request.param == "local":
        store: MediaStore = LocalMediaStore(tmp_path / "media", SECRET, clock=clock)
    else:
        endpoint: str = request.getfixturevalue("moto_endpoint")
        store = S3MediaStore(new_bucket(endpoint), moto_s3(endpoint))
    yield store
    await store.close()


async def anonymous_get(url: str) -> httpx.Response:
    """``httpx.get(url)``, as a client without any AWS credentials would open it."""
    return await asyncio.to_thread(httpx.get, url)


async def open_url(store: MediaStore, url: str) -> tuple[bytes, str] | None:
    """What a client gets for ``url``: S3 over HTTP, anonymously; the local store through the
    checks its ``/media`` route makes."""
    if isinstance(store, LocalMediaStore):
        parts = urlsplit(url)
        key = parts.path.removeprefix("/media/")
        query = parse_qs(parts.query)
        if not store.verify(key, query["expires"][0], query["signature"][0]):
            return None
        return await store.get(key)
    response = await anonymous_get(url)
    if response.status_code != 200:
        return None
    return response.content, response.headers["content-type"]


# --- contract --------------------------------------------------------------------------------


async def test_put_then_get(media: MediaStore) -> None:
    stored = await media.put("images/abc.jpg", b"\xff\xd8jpeg", "image/jpeg")
    assert stored == StoredMedia(key="images/abc.jpg", size=6, content_type="image/jpeg")
    assert await media.get("images/abc.jpg") == (b"\xff\xd8jpeg", "image/jpeg")


async def test_every_byte_and_empty_data_round_trip(media: MediaStore) -> None:
    data = bytes(range(256)) * 64
    await media.put("videos/j1/video.mp4", data, "video/mp4")
    await media.put("images/empty.png", b"", "image/png")
    assert await media.get("videos/j1/video.mp4") == (data, "video/mp4")
    assert await media.get("images/empty.png") == (b"", "image/png")


async def test_put_replaces(media: MediaStore) -> None:
    await media.put("images/a.png", b"one", "image/png")
    await media.put("images/a.png", b"two", "image/webp")
    assert await media.get("images/a.png") == (b"two", "image/webp")


async def test_delete(media: MediaStore) -> None:
    assert await media.get("images/nothing.jpg") is None
    assert await media.delete("images/nothing.jpg") is False
    await media.put("videos/j2/video.mp4", b"v", "video/mp4")
    await media.put("videos/j2/thumb.jpg", b"t", "image/jpeg")
    assert await media.delete("videos/j2/video.mp4") is True
    assert await media.get("videos/j2/video.mp4") is None
    assert await media.get("videos/j2/thumb.jpg") == (b"t", "image/jpeg")
    assert await media.delete("videos/j2/video.mp4") is False


async def test_url_opens_the_bytes(media: MediaStore) -> None:
    await media.put("images/u.jpg", b"picture", "image/jpeg")
    url = await media.url("images/u.jpg", base_url=BASE)
    assert await open_url(media, url) == (b"picture", "image/jpeg")


def test_redirects_flag(media: MediaStore) -> None:
    assert media.redirects is isinstance(media, S3MediaStore)


BAD_KEYS = [
    *("", "/images/a.jpg", "images/../secret", "..", "images/..", "images//a.jpg"),
    *("images/a.jpg/", "images/.hidden", ".media.key", "images/a b.jpg", "images/a%2F.jpg"),
    *("images\\a.jpg", "images/é.jpg", "images/a.jpg?x=1", "images/" + "a" * 600),
]


@pytest.mark.parametrize("key", BAD_KEYS)
async def test_bad_keys_are_refused(media: MediaStore, key: str) -> None:
    with pytest.raises(InvalidRequestError):
        await media.put(key, b"x", "image/png")
    with pytest.raises(InvalidRequestError):
        await media.get(key)
    with pytest.raises(InvalidRequestError):
        await media.url(key, base_url=BASE)
    with pytest.raises(InvalidRequestError):
        await media.delete(key)


@pytest.mark.parametrize("content_type", ["", "png", "image/png\r\nX-Evil: 1", "image/png x"])
async def test_bad_content_types_are_refused(media: MediaStore, content_type: str) -> None:
    with pytest.raises(InvalidRequestError):
        await media.put("images/a.png", b"x", content_type)
    with pytest.raises(InvalidRequestError):
        await media.url("images/a.png", base_url=BASE, content_type=content_type)


async def test_content_type_parameters_are_kept(media: MediaStore) -> None:
    await media.put("files/a.txt", b"hi", "text/plain; charset=utf-8")
    assert await media.get("files/a.txt") == (b"hi", "text/plain; charset=utf-8")


# --- S3 --------------------------------------------------------------------------------------


async def test_s3_url_is_a_sigv4_presigned_url_that_opens_anonymously(moto_endpoint: str) -> None:
    store = S3MediaStore(new_bucket(moto_endpoint), moto_s3(moto_endpoint), ttl=600)
    await store.put("videos/j3/video.mp4", b"movie-bytes", "video/mp4")
    url = await store.url("videos/j3/video.mp4", base_url=BASE)
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Expires"] == ["600"]
    assert "/us-east-1/s3/aws4_request" in query["X-Amz-Credential"][0]
    assert url.startswith(f"{moto_endpoint}/{store.bucket}/videos/j3/video.mp4?")
    response = await anonymous_get(url)  # no credentials: the signature is the authorisation
    assert response.status_code == 200
    assert response.content == b"movie-bytes"
    assert response.headers["content-type"] == "video/mp4"


async def test_s3_url_overrides_type_and_download_name(moto_endpoint: str) -> None:
    store = S3MediaStore(new_bucket(moto_endpoint), moto_s3(moto_endpoint))
    await store.put("images/i.bin", b"img", "application/octet-stream")
    url = await store.url(
        "images/i.bin", base_url=BASE, filename='my "cat".png', content_type="image/png"
    )
    response = await anonymous_get(url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.headers["content-disposition"] == 'inline; filename="my _cat_.png"' + (
        "; filename*=UTF-8''my%20%22cat%22.png"
    )


async def test_s3_prefix_is_a_folder(moto_endpoint: str) -> None:
    bucket = new_bucket(moto_endpoint)
    store = S3MediaStore(bucket, moto_s3(moto_endpoint), prefix="/media/")
    await store.put("images/p.jpg", b"x", "image/jpeg")
    raw = aws_client("s3", moto_endpoint)
    assert raw.head_object(Bucket=bucket, Key="media/images/p.jpg")["ContentLength"] == 1
    assert "/media/images/p.jpg?" in await store.url("images/p.jpg", base_url=BASE)
    assert await store.delete("images/p.jpg") is True


async def test_s3_missing_bucket_is_unavailable(moto_endpoint: str) -> None:
    store = S3MediaStore("grokgate-no-such-bucket", moto_s3(moto_endpoint))
    with pytest.raises(StoreUnavailableError):
        await store.put("images/a.jpg", b"x", "image/jpeg")
    with pytest.raises(StoreUnavailableError):
        await store.get("images/a.jpg")


async def test_s3_client_is_built_lazily(moto_endpoint: str) -> None:
    made: list[Any] = []

    def factory() -> Any:
        made.append(moto_s3(moto_endpoint))
        return made[-1]

    store = S3MediaStore(new_bucket(moto_endpoint), client_factory=factory)
    assert made == []
    await store.put("images/l.jpg", b"x", "image/jpeg")
    await store.get("images/l.jpg")
    assert len(made) == 1


def test_s3_client_signs_v4_in_us_east_1_without_an_endpoint() -> None:
    client = s3_client("us-east-1", **CREDENTIALS)
    url = client.generate_presigned_url(
        "get_object", Params={"Bucket": "bucket-name", "Key": "a.jpg"}, ExpiresIn=60
    )
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in url
    assert url.startswith("https://bucket-name.s3.amazonaws.com/a.jpg?")
    with pytest.raises(ValueError):  # SigV4's limit
        S3MediaStore("bucket-name", client, ttl=8 * 24 * 3600)


# --- local -----------------------------------------------------------------------------------

URL = re.compile(
    r"http://gateway\.test/media/(?P<key>[^?]+)\?expires=(?P<e>\d+)&signature=(?P<s>\w+)"
)


async def signed(store: LocalMediaStore, key: str) -> tuple[str, str, str]:
    url = await store.url(key, base_url=BASE)
    match = URL.fullmatch(url)
    assert match is not None, url
    return match["key"], match["e"], match["s"]


async def test_local_url_shape(tmp_path: Path, clock: FakeClock) -> None:
    store = LocalMediaStore(tmp_path, SECRET, ttl=100, clock=clock)
    key, expires, signature = await signed(store, "images/a.jpg")
    assert key == "images/a.jpg"
    assert int(expires) == int(clock.now + 100)
    assert len(signature) == 64
    assert store.verify(key, expires, signature)
    assert store.verify(key, int(expires), signature)


async def test_local_verify_rejects_tampering(tmp_path: Path, clock: FakeClock) -> None:
    store = LocalMediaStore(tmp_path, SECRET, clock=clock)
    key, expires, signature = await signed(store, "images/a.jpg")
    flipped = ("0" if signature[0] != "0" else "1") + signature[1:]
    assert not store.verify(key, expires, flipped)
    assert not store.verify("images/b.jpg", expires, signature)
    assert not store.verify(key, str(int(expires) + 3600), signature)
    other = LocalMediaStore(tmp_path, b"t" * 32, clock=clock)
    assert not other.verify(key, expires, signature)


async def test_local_verify_rejects_an_expired_url(tmp_path: Path, clock: FakeClock) -> None:
    store = LocalMediaStore(tmp_path, SECRET, ttl=60, clock=clock)
    key, expires, signature = await signed(store, "images/a.jpg")
    clock.advance(59)
    assert store.verify(key, expires, signature)
    clock.advance(2)
    assert not store.verify(key, expires, signature)


FAR = "99999999999"
MALFORMED = [("images/a.jpg", e, "0" * 64) for e in ("abc", "-1", "", "1e12")] + [
    ("images/a.jpg", FAR, sig) for sig in ("zz", "é" * 64, "A" * 64)
]


@pytest.mark.parametrize(("key", "expires", "signature"), [*MALFORMED, ("../x", FAR, "0" * 64)])
def test_local_verify_rejects_malformed_values(
    tmp_path: Path, key: str, expires: str, signature: str
) -> None:
    store = LocalMediaStore(tmp_path, SECRET)
    assert store.verify(key, expires, signature) is False


async def test_local_files_are_written_whole(tmp_path: Path) -> None:
    store = LocalMediaStore(tmp_path / "m", SECRET)
    await store.put("videos/j/video.mp4", b"v" * 1000, "video/mp4")
    files = sorted(p.name for p in (tmp_path / "m" / "videos" / "j").iterdir())
    assert files == [".video.mp4.type", "video.mp4"]  # no temporary file left behind
    (tmp_path / "m" / "videos" / "j" / ".video.mp4.type").unlink()
    assert await store.get("videos/j/video.mp4") == (b"v" * 1000, "video/mp4")  # by extension


async def test_local_delete_removes_emptied_folders(tmp_path: Path) -> None:
    root = tmp_path / "m"
    store = LocalMediaStore(root, SECRET)
    await store.put("videos/j/video.mp4", b"v", "video/mp4")
    await store.put("images/a.jpg", b"i", "image/jpeg")
    assert await store.delete("videos/j/video.mp4") is True
    assert sorted(p.name for p in root.iterdir()) == ["images"]
    assert await store.delete("images") is False  # a folder is not media
    await store.put("videos/j/video.mp4", b"again", "video/mp4")
    assert await store.get("videos/j/video.mp4") == (b"again", "video/mp4")


def test_local_secret_is_created_once_with_private_permissions(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    secret = local_secret(data_dir)
    assert len(secret) == 32
    path = data_dir / "media.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert local_secret(data_dir) == secret
    assert [p.name for p in data_dir.iterdir()] == ["media.key"]
    path.write_bytes(b"short")
    with pytest.raises(ValueError):
        local_secret(data_dir)
    with pytest.raises(ValueError):
        LocalMediaStore(tmp_path, b"")


def test_content_disposition_is_header_safe() -> None:
    assert content_disposition("clip.mp4") == 'inline; filename="clip.mp4"'
    value = content_disposition("../évé\r\n.mp4")
    assert "\r" not in value and "\n" not in value and ".." not in value.split(";")[1]
    assert content_disposition("vidéo.mp4").endswith("filename*=UTF-8''vid%C3%A9o.mp4")


# --- open_media_store ------------------------------------------------------------------------


def settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, **values)  # type: ignore[arg-type]


def test_open_local_by_default(tmp_path: Path) -> None:
    store = open_media_store(settings(tmp_path))
    assert isinstance(store, LocalMediaStore)
    assert store.root == tmp_path / "media"
    assert store.ttl == 3600
    secret = (tmp_path / "media.key").read_bytes()
    assert store.sign("a.jpg", 1) == LocalMediaStore(tmp_path, secret).sign("a.jpg", 1)
    assert isinstance(open_media_store(settings(tmp_path)), LocalMediaStore)
    assert (tmp_path / "media.key").read_bytes() == secret  # reused, not replaced


def test_open_local_with_a_configured_secret(tmp_path: Path) -> None:
    store = open_media_store(
        settings(tmp_path, media_secret=SecretStr("x" * 40), media_url_seconds=60)
    )
    assert isinstance(store, LocalMediaStore)
    assert store.ttl == 60
    assert not (tmp_path / "media.key").exists()
    assert store.sign("a", 1) == LocalMediaStore(tmp_path, b"x" * 40).sign("a", 1)
    with pytest.raises(StoreConfigError):
        open_media_store(settings(tmp_path, media_secret=SecretStr("short")))


def test_open_s3(tmp_path: Path) -> None:
    store = open_media_store(settings(tmp_path, media="s3", media_bucket="bucket-name"))
    assert isinstance(store, S3MediaStore)
    assert (store.bucket, store.ttl, store.redirects) == ("bucket-name", 900, True)
    assert not (tmp_path / "media.key").exists()


def test_open_s3_without_a_bucket_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(StoreConfigError, match="MEDIA_BUCKET"):
        open_media_store(settings(tmp_path, media="s3"))


def test_url_lifetimes_come_from_the_settings(tmp_path: Path) -> None:
    assert settings(tmp_path).media_url_ttl == 3600
    assert settings(tmp_path, media="s3").media_url_ttl == 900
    assert settings(tmp_path, media="s3", media_url_seconds=5).media_url_ttl == 5


async def test_open_s3_store_works_against_moto(
    tmp_path: Path, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = new_bucket(moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")  # the default chain, as in Lambda
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    store = open_media_store(
        settings(
            tmp_path,
            media="s3",
            media_bucket=bucket,
            aws_region="us-east-1",
            aws_endpoint_url=moto_endpoint,
        )
    )
    await store.put("images/o.jpg", b"opened", "image/jpeg")
    url = await store.url("images/o.jpg", base_url=BASE)
    assert (await anonymous_get(url)).content == b"opened"
