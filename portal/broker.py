"""The embedded broker for `make run` and tests without Redis: kombu's filesystem transport, made safe
for a reader that runs while a writer is still writing.

Kombu's filesystem channel creates a file, then writes it, in two places:
- a message: a worker polling the folder in between moves the empty file away and dies decoding it
  ("Expecting value: line 1 column 1"), which under load stopped `make run`;
- an exchange's binding table: a producer publishing in between reads an empty table and dies, or a
  second binder opening the file for writing empties it while a producer reads, and the producer
  routes its message to no queue (lost).
Here both are written under a name nobody reads and then renamed into place; a rename within one
folder is atomic, so a reader sees a whole file or none. Changes to a binding table (read, add or
remove a queue, write back) are serialised by an exclusive lock on a separate lock file, so two
binders cannot undo each other.

Kombu keeps the bindings it has declared in memory, in one state shared by every connection of the
process (threads of a web server, folders of a test run): a thread that finds the binding declared there
skips writing the table and may publish before the thread that declared it has written the table, so
its message goes to no queue. `queue_bind` here always makes sure the table holds the binding before it
returns. `_put`, `_queue_bind` and `_delete` are the methods kombu's virtual
transports are meant to provide (kombu.transport.virtual); `get_table` stays kombu's.
"""

import os
import uuid
from contextlib import contextmanager
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps, loads

# The reader takes only names ending in "<queue>.msg"; this suffix keeps a message out of its sight.
PARTIAL_SUFFIX = ".partial"


def _write_atomically(path: str, content: bytes) -> None:
    partial = f"{path}.{uuid.uuid4()}{PARTIAL_SUFFIX}"
    with open(partial, "xb") as handle:
        handle.write(content)
    os.replace(partial, path)


class Channel(filesystem.Channel):
    # kombu's filesystem Channel, whose _put this replaces, takes these arguments; its base declares fewer.
    def _put(self, queue, payload, **kwargs):  # type: ignore[override]
        final = os.path.join(self.data_folder_out, f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg")
        try:
            _write_atomically(final, str_to_bytes(dumps(payload)))
        except OSError as exc:
            raise ChannelError(f"Cannot add the message {final!r} to the queue folder") from exc

    @contextmanager
    def _table_for_change(self, exchange):
        """Yield the exchange's binding table (a list) to change in place, under the exchange's lock; write it back."""
        table_file = self._exchange_file(exchange)
        self.control_folder.mkdir(exist_ok=True)
        try:
            with open(f"{table_file}.lock", "ab") as lock_file:
                filesystem.lock(lock_file, filesystem.LOCK_EX)
                try:
                    try:
                        queues = [filesystem.exchange_queue_t(*q) for q in loads(table_file.read_bytes())]
                    except FileNotFoundError:
                        queues = []
                    original = list(queues)
                    yield queues
                    if queues != original:
                        _write_atomically(str(table_file), str_to_bytes(dumps(queues)))
                finally:
                    filesystem.unlock(lock_file)
        except OSError as exc:
            raise ChannelError(f"Cannot change the bindings in {table_file}") from exc

    def queue_bind(self, queue, exchange=None, routing_key="", arguments=None, **kwargs):
        super().queue_bind(queue, exchange, routing_key, arguments, **kwargs)
        exchange = exchange or "amq.direct"  # as the virtual channel names the default
        self._queue_bind(exchange, *self.typeof(exchange).prepare_bind(queue, exchange, routing_key, arguments))

    def _queue_bind(self, exchange, routing_key, pattern, queue):
        binding = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        with self._table_for_change(exchange) as queues:
            if binding not in queues:
                queues.insert(0, binding)

    def _delete(self, queue, exchange, routing_key, pattern, *args, **kwargs):
        self._purge(queue)  # what the virtual channel's own _delete does
        binding = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        with self._table_for_change(exchange) as queues:
            if binding in queues:
                queues.remove(binding)


class AtomicFilesystemTransport(filesystem.Transport):
    Channel = Channel
