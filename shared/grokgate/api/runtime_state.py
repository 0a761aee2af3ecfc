"""The state half of the composition root: the store of stored responses, conversations and
Anthropic threads. Built lazily, like everything in :class:`~grokgate.api.runtime.Runtime`,
which mixes this in."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from grokgate.config import Settings

if TYPE_CHECKING:
    from grokgate.stores.conversations import ConversationStore
    from grokgate.stores.media import MediaStore


class StateParts:
    settings: Settings
    _lock: asyncio.Lock
    _conversations: ConversationStore | None = None

    if TYPE_CHECKING:  # provided by MediaParts, after this class in Runtime's bases

        async def media_store(self) -> MediaStore: ...

    async def conversation_store(self) -> ConversationStore:
        """SQLite locally (the account store's file), DynamoDB in the cloud; expired records
        are swept by :meth:`~grokgate.api.runtime_media.MediaParts.sweep` locally and by the
        table's TTL in the cloud."""
        if self._conversations is None:
            async with self._lock:
                if self._conversations is None:
                    from grokgate.core.stored_media import MediaShelf
                    from grokgate.stores.open import open_conversation_store

                    store = open_conversation_store(self.settings)
                    store.shelf = MediaShelf(self.media_store)  # big attachments: media store
                    self._conversations = store
        return self._conversations

    async def close_state(self) -> None:
        if self._conversations is not None:
            await self._conversations.close()
            self._conversations = None
