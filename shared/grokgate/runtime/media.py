"""Generated media: the media store (S3 in the cloud, a folder locally) and the image service."""

from __future__ import annotations

from typing import TYPE_CHECKING

from grokgate.config import Settings
from grokgate.runtime.cached import cached

if TYPE_CHECKING:
    from grokgate.core.accounts.pool import AccountPool
    from grokgate.core.media.images import ImageService
    from grokgate.stores.media import MediaStore
    from grokgate.upstream.grokweb.media_client import GrokMediaClient


class MediaParts:
    settings: Settings

    if TYPE_CHECKING:  # from the other parts of Runtime

        def needs(self, what: str) -> None: ...
        async def pool(self) -> AccountPool: ...
        def media_client(self) -> GrokMediaClient: ...

    @cached
    async def media_store(self) -> MediaStore:
        self.needs("media")
        from grokgate.stores.open import open_media_store

        return open_media_store(self.settings)

    @cached
    async def image_service(self) -> ImageService:
        pool = await self.pool()
        media = await self.media_store()
        from grokgate.core.media.images import ImageService

        s = self.settings
        return ImageService(
            pool,
            self.media_client(),
            media,
            max_retries=s.max_retries,
            max_bytes=s.max_media_bytes,
        )

    async def close_media(self) -> None:
        media: MediaStore | None = MediaParts.media_store.forget(self)
        if media is not None:
            await media.close()
        MediaParts.image_service.forget(self)
