"""The store of stored responses, conversations and Anthropic threads."""

from __future__ import annotations

from typing import TYPE_CHECKING

from grokgate.config import Settings
from grokgate.runtime.cached import cached

if TYPE_CHECKING:
    from grokgate.stores.conversations import ConversationStore
    from grokgate.stores.media import MediaStore


class ConversationParts:
    settings: Settings

    if TYPE_CHECKING:  # from the other parts of Runtime

        def needs(self, what: str) -> None: ...
        async def media_store(self) -> MediaStore: ...

    @cached
    async def conversation_store(self) -> ConversationStore:
        """SQLite locally (the account store's file), DynamoDB in the cloud; expired records
        are swept by :meth:`~grokgate.runtime.Runtime.sweep` locally and by the table's TTL in
        the cloud. Big inline attachments are shelved in the media store."""
        self.needs("conversations")
        from grokgate.core.stored_media import MediaShelf
        from grokgate.stores.open import open_conversation_store

        store = open_conversation_store(self.settings)
        store.shelf = MediaShelf(self.media_store)
        return store

    async def close_conversations(self) -> None:
        store: ConversationStore | None = ConversationParts.conversation_store.forget(self)
        if store is not None:
            await store.close()
