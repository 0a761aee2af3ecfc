"""AttachmentResolver: data URIs, remote URLs (through a SafeFetcher on a MockTransport), types,
limits, names and order."""

from __future__ import annotations

import asyncio
import base64
import io
import zipfile

import httpx
import pytest

from grokgate.core.attachments import AttachmentResolver, FileInput, sniff
from grokgate.errors import InvalidRequestError
from grokgate.simulator.uploads import tiny_png
from grokgate.upstream.fetch import SafeFetcher

PNG = tiny_png()
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 20
GIF = b"GIF89a" + b"\x01" * 10
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 8
PDF = b"%PDF-1.4\n%%EOF\n"
PUBLIC = "93.184.216.34"


def data_uri(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def docx_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
    return buf.getvalue()


def fetcher(routes: dict[str, tuple[bytes, str, float]]) -> SafeFetcher:
    """A fetcher whose only host is files.example: path -> (body, content type, delay)."""

    async def handler(request: httpx.Request) -> httpx.Response:
        body, ctype, delay = routes[request.url.path]
        await asyncio.sleep(delay)
        return httpx.Response(200, content=body, headers={"content-type": ctype})

    async def resolve(host: str, port: int) -> list[str]:
        return {"files.example": [PUBLIC], "intranet.example": ["10.0.0.7"]}[host]

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return SafeFetcher(max_bytes=10_000, resolver=resolve, http=http)


def resolver(fetch: SafeFetcher | None = None, **limits: int) -> AttachmentResolver:
    return AttachmentResolver(
        fetch,
        max_bytes=limits.get("max_bytes", 10_000),
        max_total_bytes=limits.get("max_total_bytes", 50_000),
    )


async def test_a_base64_data_uri_becomes_an_attachment() -> None:
    (att,) = await resolver().resolve([FileInput(data_uri(PNG))])
    assert (att.name, att.mime, att.data) == ("image-1.png", "image/png", PNG)
    assert "size=" in repr(att) and "\\x89" not in repr(att)


async def test_whitespace_and_newlines_inside_base64_are_tolerated() -> None:
    encoded = base64.encodebytes(PNG).decode()  # wrapped every 76 characters
    source = f"data:image/png;base64,\n {encoded}\n"
    (att,) = await resolver().resolve([FileInput(source)])
    assert att.data == PNG


@pytest.mark.parametrize(
    "source",
    ["data:image/png;base64,@@@not-base64@@@", "data:image/png;base64,iVBORw0K=GgoAAA", "data:x"],
)
async def test_invalid_data_uris_are_400_with_the_param(source: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        await resolver().resolve([FileInput(source, param="messages[0].content[1]")])
    assert info.value.status == 400
    assert info.value.param == "messages[0].content[1]"
    assert "data URI" in info.value.message


async def test_percent_encoded_text_data_uris_are_accepted_for_files() -> None:
    source = "data:text/plain;charset=utf-8,hello%20world%0A"
    (att,) = await resolver().resolve([FileInput(source, kind="file")])
    assert (att.name, att.mime, att.data) == ("file-1.txt", "text/plain", b"hello world\n")


async def test_a_non_base64_image_data_uri_is_refused() -> None:
    with pytest.raises(InvalidRequestError, match="must be base64"):
        await resolver().resolve([FileInput("data:image/png,%89PNG", param="p")])


@pytest.mark.parametrize(
    ("data", "declared", "mime", "name"),
    [
        (PNG, "image/jpeg", "image/png", "image-1.png"),  # the bytes win
        (JPEG, "image/png", "image/jpeg", "image-1.jpg"),
        (GIF, "application/octet-stream", "image/gif", "image-1.gif"),
        (WEBP, "image/webp", "image/webp", "image-1.webp"),
    ],
)
async def test_image_types_are_sniffed(data: bytes, declared: str, mime: str, name: str) -> None:
    (att,) = await resolver().resolve([FileInput(data_uri(data, declared))])
    assert (att.mime, att.name) == (mime, name)


@pytest.mark.parametrize(
    ("data", "declared"),
    [(PDF, "application/pdf"), (b"just text", "image/png"), (b"<svg/>", "image/svg+xml")],
)
async def test_images_must_be_png_jpeg_gif_or_webp(data: bytes, declared: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        await resolver().resolve([FileInput(data_uri(data, declared), param="img")])
    assert info.value.code == "unsupported_file_type" and info.value.param == "img"
    assert "unsupported image type" in info.value.message


async def test_files_accept_documents_by_magic_type_or_extension() -> None:
    inputs = [
        FileInput(data_uri(PDF, "application/octet-stream"), kind="file"),
        FileInput(data_uri(b"a,b\n1,2\n", "application/octet-stream"), "file", name="t.csv"),
        FileInput(data_uri(b'{"a": 1}', "application/json"), kind="file"),
        FileInput(data_uri(b"# Title\n", "text/markdown"), kind="file", name="notes.md"),
        FileInput(data_uri(docx_bytes(), "application/zip"), kind="file", name="report.docx"),
        FileInput(data_uri(PNG), kind="file"),
    ]
    got = await resolver().resolve(inputs)
    assert [(a.name, a.mime) for a in got] == [
        ("file-1.pdf", "application/pdf"),
        ("t.csv", "text/csv"),
        ("file-3.json", "application/json"),
        ("notes.md", "text/markdown"),
        ("report.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("file-6.png", "image/png"),
    ]


@pytest.mark.parametrize(
    ("data", "declared", "name"),
    [
        (docx_bytes(), "application/zip", "archive.zip"),  # a ZIP that is not an Office file
        (b"\xff\xfe\x00binary", "text/plain", None),  # text that is not UTF-8
        (b"MZ\x90\x00", "application/x-msdownload", "setup.exe"),
        (b"<html></html>", "text/html", "page.html"),
    ],
)
async def test_other_file_types_are_refused(data: bytes, declared: str, name: str | None) -> None:
    with pytest.raises(InvalidRequestError, match="unsupported file type"):
        await resolver().resolve([FileInput(data_uri(data, declared), kind="file", name=name)])


async def test_client_names_are_kept_but_made_safe() -> None:
    source = data_uri(b"hi", "text/plain")
    (att,) = await resolver().resolve([FileInput(source, "file", name="../../etc/pass\nwd.txt")])
    assert att.name == "pass_wd.txt"


async def test_size_limits_and_empty_files() -> None:
    with pytest.raises(InvalidRequestError, match="is empty"):
        await resolver().resolve([FileInput("data:image/png;base64,", param="p")])
    with pytest.raises(InvalidRequestError) as info:
        await resolver(max_bytes=100).resolve([FileInput(data_uri(PNG + b"\x00" * 100))])
    assert info.value.code == "attachment_too_large" and "limit is 100 bytes" in info.value.message
    many = [FileInput(data_uri(PNG)) for _ in range(3)]
    with pytest.raises(InvalidRequestError, match="add up to"):
        await resolver(max_total_bytes=len(PNG) * 2).resolve(many)
    assert len(await resolver(max_total_bytes=len(PNG) * 3).resolve(many)) == 3


async def test_remote_urls_go_through_the_fetcher_and_keep_input_order() -> None:
    fetch = fetcher(
        {
            "/slow.png": (PNG, "image/png", 0.2),
            "/fast.pdf": (PDF, "application/pdf", 0.0),
            "/page": (b"plain words", "text/plain; charset=utf-8", 0.05),
        }
    )
    inputs = [
        FileInput("https://files.example/slow.png"),
        FileInput("https://files.example/fast.pdf", kind="file"),
        FileInput(data_uri(JPEG, "image/jpeg")),
        FileInput("https://files.example/page", kind="file"),
    ]
    started = asyncio.get_running_loop().time()
    got = await resolver(fetch).resolve(inputs)
    assert asyncio.get_running_loop().time() - started < 0.4  # concurrently
    assert [(a.name, a.mime) for a in got] == [
        ("image-1.png", "image/png"),
        ("file-2.pdf", "application/pdf"),
        ("image-3.jpg", "image/jpeg"),
        ("file-4.txt", "text/plain"),
    ]
    assert got[0].data == PNG


async def test_fetch_refusals_carry_the_inputs_param() -> None:
    inputs = [
        FileInput(data_uri(PNG)),
        FileInput("http://intranet.example/x.png", param="messages[0].content[2]"),
    ]
    with pytest.raises(InvalidRequestError) as info:
        await resolver(fetcher({})).resolve(inputs)
    assert info.value.code == "url_refused"
    assert info.value.param == "messages[0].content[2]"
    assert "intranet.example resolves to 10.0.0.7, which is a private" in info.value.message


async def test_the_first_bad_input_in_order_is_reported() -> None:
    inputs = [
        FileInput("https://files.example/a.png", param="first"),
        FileInput("data:image/png;base64,!!!", param="second"),
        FileInput("data:image/png;base64,???", param="third"),
    ]
    broken = fetcher({"/a.png": (b"not an image", "image/png", 0.0)})
    with pytest.raises(InvalidRequestError) as info:
        await resolver(broken).resolve(inputs)
    assert info.value.param == "first"


async def test_a_failure_cancels_the_pending_fetches() -> None:
    inputs = [
        FileInput("https://files.example/a.png", param="first"),
        FileInput("data:image/png;base64,!!!", param="second"),
    ]
    slow = fetcher({"/a.png": (PNG, "image/png", 5.0)})
    started = asyncio.get_running_loop().time()
    with pytest.raises(InvalidRequestError) as info:
        await resolver(slow).resolve(inputs)
    assert info.value.param == "second"
    assert asyncio.get_running_loop().time() - started < 1.0


async def test_remote_urls_can_be_disabled_and_other_schemes_are_refused() -> None:
    with pytest.raises(InvalidRequestError, match="remote URLs are disabled") as info:
        await resolver(None).resolve([FileInput("https://files.example/a.png", param="p")])
    assert info.value.param == "p"
    for source in ("ftp://files.example/a.png", "file:///etc/passwd", "/relative/a.png"):
        with pytest.raises(InvalidRequestError, match="unsupported source"):
            await resolver(None).resolve([FileInput(source)])


def test_sniff() -> None:
    assert sniff(PNG) == "image/png"
    assert sniff(PDF) == "application/pdf"
    assert sniff(docx_bytes()) == "zip"
    assert sniff(b"hello") is None
