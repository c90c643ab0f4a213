"""Where the bot's conversations survive a restart: a ``PicklePersistence`` file under the
data directory, written atomically.

What it keeps: the conversation states and ``user_data``/``chat_data`` (what a question is
about). Not ``bot_data`` (it holds the claims service) nor callback data (buttons carry plain
strings). When it is written: the inbox dispatcher calls ``Application.update_persistence``
after each handled update and before it marks the update's row handled; with ``on_flush``
off, PicklePersistence then dumps at once. So a SIGKILL loses no state of a handled update;
one killed before that point is handled again after the restart (its row is still
unhandled) and sets the state again. The periodic write (``update_interval``) is only a
backstop. Each dump goes to a temporary file renamed over the old one, so a kill in the
middle of a write leaves the previous file whole (PTB writes in place).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from telegram.ext import PersistenceInput, PicklePersistence

from cpd.bot.context import CONTEXT_TYPES, BotData, ChatData, UserData

UPDATE_INTERVAL = 30.0  # backstop only: every handled update is flushed at once


class AtomicPicklePersistence(PicklePersistence[UserData, ChatData, BotData]):
    """PicklePersistence whose single file is replaced atomically on each dump."""

    def _dump_singlefile(self) -> None:
        # PTB's own version opens the file itself instead of calling _dump_file: route it there
        data = {
            "conversations": self.conversations,
            "user_data": self.user_data,
            "chat_data": self.chat_data,
            "bot_data": self.bot_data,
            "callback_data": self.callback_data,
        }
        self._dump_file(self.filepath, data)

    def _dump_file(self, filepath: Path, data: object) -> None:
        filepath.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{filepath.name}.", dir=filepath.parent)
        os.close(handle)
        try:
            super()._dump_file(Path(temporary), data)  # PTB's pickler, into the new file
            os.replace(temporary, filepath)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def conversation_store(path: Path) -> AtomicPicklePersistence:
    """The persistence for the bot's conversations, in the file ``path``."""
    return AtomicPicklePersistence(
        filepath=path,
        store_data=PersistenceInput(bot_data=False, callback_data=False),
        single_file=True,
        on_flush=False,
        update_interval=UPDATE_INTERVAL,
        context_types=CONTEXT_TYPES,
    )
