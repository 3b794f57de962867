"""The embedded broker (`make run`, tests without Redis) never hands a worker half a message.

A producer and a consumer race on one queue folder, as the web server and the worker do under load;
every message read must be whole. kombu's own filesystem transport fails this (the consumer takes the
file between its creation and its write and dies decoding nothing).
"""

import threading
import time

from kombu import Connection

from portal.broker import AtomicFilesystemTransport

MESSAGES = 400
# A large body widens the window between a file's creation and the end of its write.
BODY = "x" * 200_000


def _connection(folder):
    options = {
        "data_folder_in": str(folder),
        "data_folder_out": str(folder),
        "control_folder": str(folder),
        "store_processed": False,
    }
    return Connection(transport=AtomicFilesystemTransport, transport_options=options)


def test_a_worker_racing_the_producer_only_ever_reads_whole_messages(tmp_path):
    failures, received = [], []
    done_sending = threading.Event()

    def produce():
        with _connection(tmp_path) as connection:
            queue = connection.SimpleQueue("race")
            for number in range(MESSAGES):
                queue.put({"number": number, "body": BODY})
            queue.close()
        done_sending.set()

    def consume():
        deadline = time.monotonic() + 120
        with _connection(tmp_path) as connection:
            queue = connection.SimpleQueue("race")
            while len(received) < MESSAGES and time.monotonic() < deadline:
                try:
                    message = queue.get_nowait()
                except queue.Empty:
                    continue
                except Exception as exc:  # a half-written file surfaces as a decoding error here
                    failures.append(repr(exc))
                    continue
                received.append(message.payload["number"])
                message.ack()
            queue.close()

    threads = [threading.Thread(target=produce), threading.Thread(target=consume)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)

    assert done_sending.is_set()
    assert failures == []
    assert sorted(received) == list(range(MESSAGES))


BINDERS = 8
EACH = 25


def test_producers_binding_a_new_queue_at_once_lose_no_message(tmp_path):
    """Eight producers declare the same new queue at the same instant (each binds it) and publish at once.

    kombu's own transport creates the binding table and then writes it, a second binder empties it on
    opening, and a thread that finds the binding in kombu's process-wide memory skips the table and may
    publish before it is written: in each case a producer routes its message to no queue.
    """
    barrier = threading.Barrier(BINDERS)
    failures = []

    def produce(producer):
        try:
            with _connection(tmp_path) as connection:
                barrier.wait(timeout=60)
                queue = connection.SimpleQueue("burst")
                for number in range(EACH):
                    queue.put({"number": producer * EACH + number})
                queue.close()
        except Exception as exc:  # a half-written binding table surfaces here as a decoding error
            failures.append(repr(exc))

    threads = [threading.Thread(target=produce, args=(producer,)) for producer in range(BINDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    received = []
    with _connection(tmp_path) as connection:
        queue = connection.SimpleQueue("burst")
        while True:
            try:
                message = queue.get_nowait()
            except queue.Empty:
                break
            received.append(message.payload["number"])
            message.ack()
        queue.close()
    assert failures == []
    assert sorted(received) == list(range(BINDERS * EACH))
