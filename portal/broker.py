"""The embedded broker for `make run` and tests without Redis: kombu's filesystem transport, made safe
for a reader that runs while a writer is still writing.

Kombu's filesystem channel creates the message file, then writes it. A worker polling the folder in
between moves the empty file away and dies decoding it ("Expecting value: line 1 column 1"), which
under load stopped `make run`. Here a message is written under a name the reader skips and then
renamed into the queue; a rename within one folder is atomic, so a reader sees a whole message or
none. `_put` is the method kombu's virtual transports are meant to provide (kombu.transport.virtual).
"""

import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

# The reader takes only names ending in "<queue>.msg"; this suffix keeps a message out of its sight.
PARTIAL_SUFFIX = ".partial"


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        final = os.path.join(self.data_folder_out, f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg")
        partial = final + PARTIAL_SUFFIX
        try:
            with open(partial, "xb") as message:
                message.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add the message {final!r} to the queue folder") from exc


class AtomicFilesystemTransport(filesystem.Transport):
    Channel = Channel
